package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

const rendered = `{
	"admin": {"disabled": true},
	"storage": {"module": "file_system", "root": "/r/var/lib/ruche/caddy"},
	"apps": {
		"http": {"shutdown_delay": 1000000000, "servers": {"ruche": {
			"listen": ["127.0.0.1:8080"],
			"routes": [
				{"handle": [{"handler": "subroute", "routes": [{"handle": [{"handler": "file_server", "root": "/r/s"}]}]}]},
				{"match": [{"host": ["testbox.local"]}], "handle": [{"handler": "ruche", "name": "panel"}], "terminal": true}
			]
		}}},
		"tls": {"disable_storage_clean": true}
	}
}`

func TestCaddyConfig(t *testing.T) {
	known := map[string]bool{"subroute": true, "file_server": true, "static_response": true}
	out, diffs, err := caddyConfig([]byte(rendered), "127.0.0.1:9", "/scratch", known)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{`"127.0.0.1:9"`, `"static_response"`, `"/scratch"`, `"shutdown_delay": 1000000000`, `"root": "/r/s"`} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %s:\n%s", want, s)
		}
	}
	for _, gone := range []string{`"ruche"`, "disable_storage_clean", "8080", `"panel"`} {
		if strings.Contains(strings.ReplaceAll(s, `"ruche": {`, ""), gone) {
			t.Errorf("output still has %s:\n%s", gone, s)
		}
	}
	if len(diffs) != 4 {
		t.Errorf("%d differences noted, want 4 (listen, panel, tls, storage): %q", len(diffs), diffs)
	}

	delete(known, "file_server")
	if _, _, err := caddyConfig([]byte(rendered), "127.0.0.1:9", "/scratch", known); err == nil || !strings.Contains(err.Error(), "file_server") {
		t.Errorf("a handler Debian's caddy lacks: err = %v", err)
	}
}

func TestTargets(t *testing.T) {
	ts := targets(100, 8, 3)
	if len(ts) != 24 || ts[0].Host != "site-0001.example.org" || ts[len(ts)-1].Host != "site-0100.example.org" || ts[1].Path != "/page-1/" {
		t.Errorf("targets(100, 8, 3) = %v", ts)
	}
	if ts := targets(1, 8, 2); len(ts) != 2 {
		t.Errorf("targets(1, 8, 2) = %v", ts)
	}
}

func TestWrkScript(t *testing.T) {
	s := wrkScript([]target{{"a.example", "/x/"}})
	if !strings.Contains(s, `"GET /x/ HTTP/1.1\r\nHost: a.example\r\n\r\n"`) {
		t.Errorf("script:\n%s", s)
	}
}

func TestParseStrace(t *testing.T) {
	c := parseStrace([]byte(`% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 45.12    0.123456          12     12000           fcntl
 20.00    0.050000           5      3000       100 openat
 10.00    0.020000           5      5000           nanosleep
------ ----------- ----------- --------- --------- ----------------
100.00    0.173456          11     15000       100 total
`))
	c.requests = 1000
	if c.total != 20000 || c.perRequest("fcntl") != 12 || c.perRequest("openat") != 3 || c.perRequest("") != 15 {
		t.Errorf("parseStrace: %+v", c)
	}
}

func TestCPUTicksAndStatus(t *testing.T) {
	if _, _, err := cpuTicks(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	st, err := readStatus(os.Getpid())
	if err != nil || st.RSSKiB == 0 || st.HWMKiB < st.RSSKiB {
		t.Fatalf("readStatus: %+v, %v", st, err)
	}
}
