from hvd_netconf.edit.diff import diff, diff_keys, entries


def test_diff_whole_tree(cfg):
    old = cfg.config([cfg.network("lan"), cfg.network("dmz", fib=1)],
                     [cfg.vm("web", cpu=2), cfg.vm("db")])
    new = cfg.config([cfg.network("lan"), cfg.network("dmz", fib=2), cfg.network("new")],
                     [cfg.vm("web", cpu=2)])
    got = {(c.kind, c.name): c.op for c in diff(old, new)}
    assert got == {("network", "dmz"): "modify", ("network", "new"): "create",
                   ("vm", "db"): "delete"}


def test_whitespace_is_not_a_change(cfg):
    old = cfg.config([cfg.network("lan", mtu=9000)])
    new = cfg.config(["<network>\n  <name>lan</name>\n  <mtu>9000</mtu>\n</network>"])
    assert diff(old, new) == []


def test_diff_keys_looks_only_at_the_given_keys(cfg):
    old = entries(cfg.config([cfg.network("a")], [cfg.vm("x", cpu=1)]))
    new = entries(cfg.config([cfg.network("a", fib=1)], [cfg.vm("x", cpu=2)]))
    seen = []

    def get(table):
        def lookup(key):
            seen.append(key)
            return table.get(key)
        return lookup

    changes = diff_keys([("vm", "x")], get(old), get(new))
    assert [(c.kind, c.name, c.op) for c in changes] == [("vm", "x", "modify")]
    assert set(seen) == {("vm", "x")}
