package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/services/panel"
)

// While `ruche up` runs, other commands talk to it over a Unix socket
// (<root>/run/ruche/control.sock, mode 0600: root only) so that it is the
// one that applies and reloads what it supervises. The protocol is HTTP with
// JSON bodies; it is internal to this binary.

// controlApply asks the daemon to apply a pack.
type controlApply struct {
	File   string `json:"file"`
	Pack   []byte `json:"pack"`
	Author string `json:"author"`
	Note   string `json:"note,omitempty"`
	Lang   string `json:"lang"`
}

// controlOutput is what a command run by the daemon printed, and its code.
type controlOutput struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	Code   int    `json:"code"`
}

type controlClient struct {
	http *http.Client
}

// dialDaemon returns a client when a daemon answers on root's control
// socket, nil when none runs (a stale socket file is not a daemon).
func dialDaemon(root string) *controlClient {
	sock := filepath.Join(root, provision.ControlSocket)
	if _, err := os.Stat(sock); err != nil {
		return nil
	}
	conn, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return nil
	}
	conn.Close()
	return &controlClient{http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}}
}

func (c *controlClient) apply(ctx context.Context, req controlApply) (controlOutput, int, error) {
	var out controlOutput
	body, err := json.Marshal(req)
	if err != nil {
		return out, 0, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://ruche/apply", bytes.NewReader(body))
	if err != nil {
		return out, 0, err
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return out, 0, fmt.Errorf("control socket: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return out, 0, fmt.Errorf("control socket: %w", err)
	}
	return out, out.Code, nil
}

// controlStatus is what the daemon's GET /status answers: every service it
// supervises, and its health checks, among them the last apply's outcome.
type controlStatus struct {
	Services []provision.ServiceStatus `json:"services"`
	Health   panel.Health              `json:"health"`
	// Started is when this run of the daemon started.
	Started time.Time `json:"started"`
}

func (c *controlClient) status(ctx context.Context) (controlStatus, error) {
	var st controlStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://ruche/status", nil)
	if err != nil {
		return st, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return st, fmt.Errorf("control socket: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("control socket: GET /status: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("control socket: %w", err)
	}
	return st, nil
}

// post sends a bodiless POST to the daemon and checks it answered 2xx.
func (c *controlClient) post(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://ruche"+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("control socket: POST %s: %s %s", path, resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

// pause stops the services of the running box and makes it refuse
// applies, for a restore in place.
func (c *controlClient) pause(ctx context.Context) error { return c.post(ctx, "/pause") }

// restart makes the running box start again from its live pack.
func (c *controlClient) restart(ctx context.Context) error { return c.post(ctx, "/restart") }

// waitRestarted waits (at most within) until a daemon that started after
// the one that ran at before answers on root's control socket: right
// after a restart is asked, the old one may still answer.
func waitRestarted(ctx context.Context, root string, before time.Time, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if c := dialDaemon(root); c != nil {
			if st, err := c.status(ctx); err == nil && st.Started.After(before) {
				return true
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}
