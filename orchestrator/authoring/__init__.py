"""Writing plans: a new plan from a format reference (``new``) and rows added to it (``add``)."""
