"""From a configuration change to the host: diff, an ordered plan with undo, the engine."""
