"""VM supervision: one watcher per running VM, bhyve's exit-code policy, re-adoption at start.

The Supervisor lives in hvd_netconf.supervisor.core; this package stays import-free so the
stand-in guest (hvd_netconf.supervisor.standin) starts fast.
"""
