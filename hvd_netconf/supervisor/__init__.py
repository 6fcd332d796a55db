"""VM supervision: one watcher per running VM, bhyve's exit-code policy, re-adoption at start.

The Supervisor lives in hvd_netconf.supervisor.core. The stand-in guest that the sim backend
runs in place of bhyve is part of the sim (hvd_netconf.host.sim.standin).
"""
