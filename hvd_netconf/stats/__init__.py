"""Statistics of VMs, networks and the host: one sample in a fixed handful of host commands
(collect), and the containers <get> reports them in (state)."""
