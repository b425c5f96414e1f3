package main

import (
	_ "github.com/caddyserver/caddy/v2"
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/ruche-box/ruche/services/panel"
	_ "github.com/ruche-box/ruche/services/sites"
	_ "github.com/ruche-box/ruche/services/web"
)

func main() {}
