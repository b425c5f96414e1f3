package main

import (
	"strings"
	"testing"
	"time"
)

func TestSmapsField(t *testing.T) {
	smaps := "55d0c0000000-7ffc00000000 ---p 00000000 00:00 0 [rollup]\nRss:               36520 kB\nPss:                9421 kB\nPss_Dirty:          2048 kB\n"
	if got, ok := smapsField([]byte(smaps), "Pss"); !ok || got != 9421 {
		t.Errorf("Pss: %d %v, want 9421", got, ok)
	}
	if got, ok := smapsField([]byte(smaps), "Rss"); !ok || got != 36520 {
		t.Errorf("Rss: %d %v, want 36520", got, ok)
	}
	if _, ok := smapsField([]byte("Rss: 1 kB\n"), "Pss"); ok {
		t.Error("found a Pss in none")
	}
}

func TestParseStat(t *testing.T) {
	name, ppid, ok := parseStat("4752 (php-fpm8.2) S 4700 4752 4700 0 -1 4194560")
	if !ok || name != "php-fpm8.2" || ppid != 4700 {
		t.Errorf("parseStat: %q %d %v", name, ppid, ok)
	}
	// comm may hold spaces and parentheses.
	name, ppid, ok = parseStat("12 (a (b) c) R 1 12 12")
	if !ok || name != "a (b) c" || ppid != 1 {
		t.Errorf("parseStat with parentheses: %q %d %v", name, ppid, ok)
	}
}

func TestDescendants(t *testing.T) {
	all := []procInfo{{pid: 1}, {pid: 10, ppid: 1}, {pid: 11, ppid: 10}, {pid: 12, ppid: 11}, {pid: 13, ppid: 11}, {pid: 20, ppid: 1}}
	var got []int
	for _, p := range descendants(all, 10) {
		got = append(got, p.pid)
	}
	if len(got) != 3 || got[0] != 11 {
		t.Errorf("descendants of 10: %v, want 11 12 13", got)
	}
}

func TestReport(t *testing.T) {
	r := &result{
		date: "2026-11-24", machine: "CPU (2 cores)", rucheVersion: "ruche x", dokuwiki: "d", phpFPM: "p",
		upCommand: "ruche up", views: 300, clients: 3, idleTimeout: 30 * time.Second, ready: 150 * time.Millisecond,
		idle:   memory{processes: 1, pssKiB: 28000, rssKiB: 36000},
		during: memory{processes: 4, workers: 3, pssKiB: 40000, rssKiB: 90000, others: 2},
		after:  memory{processes: 4, workers: 3, pssKiB: 41000}, stopped: memory{processes: 1, pssKiB: 28100},
		stoppedAfter: 31 * time.Second,
		load:         loadResult{views: 300, took: 2 * time.Second, latencies: []time.Duration{time.Millisecond}},
		recoveries:   []time.Duration{300 * time.Millisecond, 500 * time.Millisecond, 400 * time.Millisecond},
	}
	s := report(r, "make bench")
	for _, want := range []string{
		"<!-- bench:wiki -->\n", "<!-- /bench:wiki -->\n", "    make bench\n", "on CPU (2 cores), load average",
		"| idle: ready, no worker | 1 | 0 | 27.3 MiB | 35.2 MiB |", "(up to 2: another box", "**150 views/s**", "after **400 ms** (median), 500 ms at most",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}
