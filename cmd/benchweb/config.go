package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// panelStandIn is what Debian's caddy answers on the panel's route instead
// of the "ruche" handler module, which only exists inside the ruche binary.
// The benchmark requests no panel URL: the route is kept so that the route
// list, and so the work of matching a request, stays the same.
const panelStandIn = "Ruche panel (stand-in for the ruche handler module)\n"

// caddyConfig turns the configuration `ruche apply` rendered into one
// Debian's caddy (2.6) runs: the same JSON, with only what the plain binary
// cannot take changed. knownHandlers are the http.handlers.* modules of that
// binary (caddy list-modules), to refuse early, with a clear message, a
// Ruche-only handler this function does not know how to replace yet.
//
// It returns the new configuration and one sentence per difference, for the
// report: the figures are only comparable if every difference is written
// down.
func caddyConfig(rendered []byte, listen, storageRoot string, knownHandlers map[string]bool) ([]byte, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(rendered))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, nil, fmt.Errorf("caddy config: %w", err)
	}
	var diffs []string
	note := func(format string, a ...any) {
		d := fmt.Sprintf(format, a...)
		for _, old := range diffs {
			if old == d {
				return
			}
		}
		diffs = append(diffs, d)
	}

	apps, _ := root["apps"].(map[string]any)
	httpApp, _ := apps["http"].(map[string]any)
	servers, _ := httpApp["servers"].(map[string]any)
	if len(servers) == 0 {
		return nil, nil, fmt.Errorf("caddy config: no HTTP server")
	}
	names := make([]string, 0, len(servers))
	for name := range servers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		srv, ok := servers[name].(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("caddy config: server %s is not an object", name)
		}
		// What `ruche up --http` does to the rendered file as well.
		srv["listen"] = []any{listen}
		note("`apps.http.servers.%s.listen`: the benchmark's loopback port instead of the rendered address (ruche gets its own port through `ruche up --http`, which replaces the listen list the same way)", name)
	}

	// The panel is a Go handler behind the "ruche" handler module.
	var unknown []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if h, ok := v["handler"].(string); ok {
				switch {
				case h == "ruche":
					for k := range v {
						delete(v, k)
					}
					v["handler"] = "static_response"
					v["status_code"] = json.Number("200")
					v["body"] = panelStandIn
					note("the panel's route: handler `ruche` (Ruche's own Caddy module, the panel's Go handler) replaced by a `static_response` (200, a fixed text); no benchmark URL reaches it")
				case knownHandlers != nil && !knownHandlers[h]:
					unknown = append(unknown, h)
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(root)
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, nil, fmt.Errorf("caddy config: handler modules Debian's caddy lacks: %s (teach cmd/benchweb/config.go an equivalent)", strings.Join(unknown, ", "))
	}

	// Fields caddy 2.6 does not know (it refuses unknown fields).
	if tls, ok := apps["tls"].(map[string]any); ok {
		if _, ok := tls["disable_storage_clean"]; ok {
			delete(tls, "disable_storage_clean")
			note("`apps.tls.disable_storage_clean` removed: caddy 2.6 refuses the field (added in a later version); with no certificate (`tls: \"off\"`) the storage clean has nothing to clean")
		}
	}

	// Caddy's storage: a folder of its own, so that Debian's caddy writes
	// nothing into the root Ruche serves from (2.6 cleans storage and
	// writes its lock files there).
	if st, ok := root["storage"].(map[string]any); ok {
		if _, ok := st["root"]; ok {
			st["root"] = storageRoot
			note("`storage.root`: a scratch folder of its own, so that the plain caddies write nothing under Ruche's root (no certificate is used: TLS is off)")
		}
	}

	out, err := json.MarshalIndent(root, "", "\t")
	if err != nil {
		return nil, nil, fmt.Errorf("caddy config: %w", err)
	}
	return append(out, '\n'), diffs, nil
}
