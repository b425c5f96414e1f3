package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
)

// The measured pack is a valid pack with the users the run logs in as.
func TestPackYAML(t *testing.T) {
	p, err := provision.Load("pack.yaml", []byte(packYAML(50)))
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]int{}
	var logins []string
	for _, u := range p.Panel.Users {
		roles[u.Role]++
		logins = append(logins, u.Login)
	}
	if roles["admin"] != 1 || roles["technician"] != 1 || roles["member"] != 50 {
		t.Errorf("roles %v, want 1 admin, 1 technician, 50 members", roles)
	}
	for _, l := range []string{adminLogin, techLogin, memberLogin(0), memberLogin(49)} {
		if !slices.Contains(logins, l) {
			t.Errorf("the pack lacks %q, a login the run uses", l)
		}
	}
}

// Percentiles by nearest rank, on unsorted latencies.
func TestPercentile(t *testing.T) {
	var p pageStats
	for i := 100; i >= 1; i-- { // 100 ms down to 1 ms
		p.latencies = append(p.latencies, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := p.percentile(c.q); got != c.want {
			t.Errorf("p%v = %v, want %v", c.q*100, got, c.want)
		}
	}
	if p.max() != 100*time.Millisecond {
		t.Errorf("max %v", p.max())
	}
	p.latencies = p.latencies[:40] // 100 … 61 ms: p99 of 40 is the max
	if got := p.percentile(0.99); got != 100*time.Millisecond {
		t.Errorf("p99 of 40 = %v, want the max", got)
	}
	if got := (&pageStats{}).percentile(0.5); got != 0 {
		t.Errorf("p50 of none = %v", got)
	}
}

func TestSmapsField(t *testing.T) {
	rollup := "55d0c0000000-7ffc00000000 ---p 00000000 00:00 0 [rollup]\nRss:               36520 kB\nPss:                9421 kB\nPss_Dirty:          2048 kB\n"
	if got, ok := smapsField([]byte(rollup), "Pss"); !ok || got != 9421 {
		t.Errorf("Pss: %d %v, want 9421", got, ok)
	}
	if got, ok := smapsField([]byte("Name:\truche\nVmHWM:\t  110700 kB\nVmRSS:\t 76600 kB\n"), "VmHWM"); !ok || got != 110700 {
		t.Errorf("VmHWM: %d %v, want 110700", got, ok)
	}
	if _, ok := smapsField([]byte("Rss: 1 kB\n"), "Pss"); ok {
		t.Error("found a Pss in none")
	}
}

func TestDescendants(t *testing.T) {
	if ppid, ok := parentOf("12 (a (b) c) R 7 12 12"); !ok || ppid != 7 {
		t.Errorf("parentOf with parentheses: %d %v", ppid, ok)
	}
	got := descendants(map[int]int{1: 0, 10: 1, 11: 10, 12: 11, 13: 11, 20: 1}, 10)
	slices.Sort(got)
	if !slices.Equal(got, []int{11, 12, 13}) {
		t.Errorf("descendants of 10: %v", got)
	}
	// A loop in the table (a pid reused meanwhile) ends.
	if got := descendants(map[int]int{2: 3, 3: 2}, 2); len(got) > 2 {
		t.Errorf("descendants in a loop: %v", got)
	}
}

// The report names every page and the command, inside its markers.
func TestReport(t *testing.T) {
	ps := func(name string, ms ...int) *pageStats {
		s := &pageStats{page: page{name: name}, bytes: 6000}
		for _, m := range ms {
			s.latencies = append(s.latencies, time.Duration(m)*time.Millisecond)
		}
		return s
	}
	r := &result{members: 50, tickets: 1000, writers: 4, sessions: 50, requests: 2, staffSessions: 10,
		opened: opened{comments: 2000, changes: 334, took: 5 * time.Second},
		load:   loadResult{pages: []*pageStats{ps("dash", 3, 5), ps("list", 7, 9)}, took: time.Second},
		alone:  []loadResult{{pages: []*pageStats{ps("dash", 1, 2)}, took: time.Second}, {pages: []*pageStats{ps("list", 4, 4)}, took: time.Second}},
	}
	out := report(r, "make bench")
	if !strings.HasPrefix(out, "<!-- bench:panel -->\n") || !strings.HasSuffix(out, "<!-- /bench:panel -->\n") {
		t.Error("the section is not within its markers")
	}
	for _, want := range []string{"    make bench\n", "| dash | 6 kB | 1 | 2 | 1.0 ms |", "| list | 6 kB | 50 (mixed) | 2 | **7.0 ms** | **9.0 ms** |", "3334 writes"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
