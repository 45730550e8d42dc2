"""Configuration: where files live, gateway profiles, and resolving one connection from them."""
