"""REST handlers and middlewares. Thin: parse, call a service, answer."""
