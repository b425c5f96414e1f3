package web

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler is the Caddy HTTP handler module "ruche": it hands the request
// to a Go http.Handler registered in this process under Name, so that
// Ruche's own pages (the panel) are served by the embedded Caddy with no
// proxy hop and no extra port. In JSON:
//
//	{"handler": "ruche", "name": "panel"}
//
// The field is "name" because "handler" is the key Caddy reads the module's
// own name from.
type Handler struct {
	// Name is what the Go handler was registered under with Handle.
	Name string `json:"name"`
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.ruche",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Validate refuses a handler with no name, a config mistake Caddy would
// otherwise only show as a 503 on every request.
func (h *Handler) Validate() error {
	if h.Name == "" {
		return fmt.Errorf("http.handlers.ruche: name is required")
	}
	return nil
}

// ServeHTTP looks the handler up on every request rather than at
// provisioning: the daemon may register or replace it before or after
// Caddy loads a config, with no reload.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	registryMu.RLock()
	target := registry[h.Name]
	registryMu.RUnlock()
	if target == nil {
		// Not registered (yet): the daemon is starting or the component
		// failed. Tell the browser to retry rather than show an error page.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "Service indisponible, réessayez dans un instant / Service unavailable, please retry shortly")
		return nil
	}
	target.ServeHTTP(w, r)
	return nil
}

var (
	registryMu sync.RWMutex
	registry   = map[string]http.Handler{}
)

// Handle registers h under name for the "ruche" Caddy handler module;
// a nil h removes it (requests then get 503). Safe to call at any time,
// also while Caddy serves.
func Handle(name string, h http.Handler) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if h == nil {
		delete(registry, name)
		return
	}
	registry[name] = h
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
)
