package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/ruche-box/ruche/cmd/internal/benchenv"
)

// panelHost is the panel's name under a root other than /.
const panelHost = "panel.localhost"

// session is one logged-in browser: its own cookie jar and keep-alive
// connection.
type session struct {
	login, role string
	client      *http.Client
}

// newSession logs login in through POST /api/session.
func newSession(ctx context.Context, addr, login, password, role string) (*session, error) {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{Timeout: 5 * time.Second}
	s := &session{login: login, role: role, client: &http.Client{
		Timeout: 60 * time.Second,
		Jar:     jar,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "tcp", addr)
			},
			MaxIdleConnsPerHost: 1,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	body, _ := json.Marshal(map[string]string{"login": login, "password": password})
	code, _, err := s.do(ctx, http.MethodPost, "/api/session", body)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("login %s: status %d", login, code)
	}
	return s, nil
}

// do sends one request to the panel (a JSON body when body is not nil)
// and reads the answer to its end, as a browser would.
func (s *session) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+panelHost+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Header.Set("Accept", "text/html")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, data, err
}

// postJSON sends v and decodes the answer's "id", if any; want is the
// status expected.
func (s *session) postJSON(ctx context.Context, method, path string, v any, want int) (int64, error) {
	body, _ := json.Marshal(v)
	code, data, err := s.do(ctx, method, path, body)
	if err != nil {
		return 0, err
	}
	if code != want {
		return 0, fmt.Errorf("%s %s as %s: status %d, want %d: %s", method, path, s.login, code, want, data)
	}
	var out struct {
		ID int64 `json:"id"`
	}
	_ = json.Unmarshal(data, &out)
	return out.ID, nil
}

// page is one kind of request the load makes: a path as a role.
type page struct {
	name, path, role string
}

// pageStats are the latencies of one page.
type pageStats struct {
	page      page
	latencies []time.Duration
	failed    int
	bytes     int // of the last answer
}

func (p *pageStats) percentile(q float64) time.Duration {
	if len(p.latencies) == 0 {
		return 0
	}
	s := slices.Clone(p.latencies)
	slices.Sort(s)
	// Nearest rank: the smallest latency that q of the requests did not
	// exceed (of 40 requests, p50 is the 20th and p99 the 40th, the max).
	rank := int(math.Ceil(q * float64(len(s))))
	return s[min(len(s), max(1, rank))-1]
}

func (p *pageStats) max() time.Duration {
	if len(p.latencies) == 0 {
		return 0
	}
	return slices.Max(p.latencies)
}

// loadResult is what one run of requests did.
type loadResult struct {
	sessions, requests int
	took               time.Duration
	pages              []*pageStats // in the order of the pages given
}

func (l loadResult) total() (n, failed int) {
	for _, p := range l.pages {
		n += len(p.latencies)
		failed += p.failed
	}
	return n, failed
}

// plan says which pages a session requests, in turn.
type plan func(s *session) []page

// load runs requests requests from every session at once (each in its
// own goroutine, on its own connection, all released together), and
// samples the memory every 100 ms meanwhile; peak is the sample with the
// largest RSS.
func load(ctx context.Context, sessions []*session, requests int, pagesOf plan, pages []page, sample func() (memory, error)) (loadResult, memory, error) {
	res := loadResult{sessions: len(sessions), requests: requests}
	stats := map[page]*pageStats{}
	for _, p := range pages {
		ps := &pageStats{page: p}
		stats[p] = ps
		res.pages = append(res.pages, ps)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, s := range sessions {
		mine := pagesOf(s)
		wg.Go(func() {
			<-start
			for i := 0; i < requests && ctx.Err() == nil; i++ {
				p := mine[i%len(mine)]
				t0 := time.Now()
				code, body, err := s.do(ctx, http.MethodGet, p.path, nil)
				d := time.Since(t0)
				mu.Lock()
				ps := stats[p]
				ps.latencies = append(ps.latencies, d)
				ps.bytes = len(body)
				if err != nil || code != http.StatusOK {
					ps.failed++
				}
				mu.Unlock()
			}
		})
	}
	finished := make(chan struct{})
	t0 := time.Now()
	close(start)
	go func() {
		wg.Wait()
		close(finished)
	}()
	var peak memory
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-finished:
			res.took = time.Since(t0)
			if sample != nil {
				if m, err := sample(); err == nil && m.rssKiB > peak.rssKiB {
					peak = m
				}
			}
			return res, peak, ctx.Err()
		case <-tick.C:
			if sample != nil {
				if m, err := sample(); err == nil && m.rssKiB > peak.rssKiB {
					peak = m
				}
			}
		}
	}
}

// waitHealthz polls /healthz until it answers (any status: the panel
// serves) or within passes.
func (u *upProcess) waitHealthz(ctx context.Context, within time.Duration) error {
	c := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(within)
	var last string
	for i := 0; ; i++ {
		if u.exited() {
			return fmt.Errorf("ruche up exited (%v); its log:\n%s", u.waitErr, benchenv.Tail(u.logPath, 20))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, (&url.URL{Scheme: "http", Host: u.addr, Path: "/healthz"}).String(), nil)
		req.Host = panelHost
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusServiceUnavailable {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the panel did not answer on http://%s/healthz within %v: %s; ruche up's log:\n%s", u.addr, within, last, benchenv.Tail(u.logPath, 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
