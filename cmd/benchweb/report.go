package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ruche-box/ruche/cmd/internal/benchmd"
)

type section struct{ name, text string }

// renderReport writes the two sections of docs/benchmarks.md.
func renderReport(o *options, e *env, tp *throughput, mem []memRow) []section {
	var out []section
	date := time.Now().UTC().Format("2006-01-02")
	if tp != nil {
		out = append(out, section{"web-throughput", throughputSection(o, e, tp, date)})
	}
	if len(mem) > 0 {
		out = append(out, section{"web-memory", memorySection(o, e, mem, date)})
	}
	return out
}

func throughputSection(o *options, e *env, tp *throughput, date string) string {
	var b strings.Builder
	s := tp.setup
	fmt.Fprintf(&b, "<!-- bench:web-throughput -->\n## Static sites: `ruche up` (embedded Caddy) against Debian's `caddy`\n\n")
	fmt.Fprintf(&b, "Measured %s on %s, load average %s before and %s after, with:\n\n    %s\n\n",
		date, e.machine, e.loadBefore, e.loadAfter, o.command)
	fmt.Fprintf(&b, "Every server runs the configuration `ruche apply` rendered for a pack of %d sites "+
		"(provision/packgen, %d pages each, `tls: \"off\"`) and serves the same rendered files; each is pinned "+
		"to CPU %s (`taskset -c %s`, so Go runs it with GOMAXPROCS 1), the load to CPU %s. Load: %s, "+
		"`taskset -c %s wrk -t%d -c%d -d%ds --timeout 5s --latency -s urls.lua http://127.0.0.1:PORT/`, "+
		"%d URLs (%d pages on each of %d sites spread over the pack, first and last included) requested round-robin "+
		"by Host header and path, keep-alive, no `Accept-Encoding` (files sent as they are). "+
		"After a %v warm-up of each, %d runs per server, in turn; figures are the medians of the runs.\n\n",
		s.sites, o.pages, o.serverCPU, o.serverCPU, o.loadCPU, e.wrkVersion,
		o.loadCPU, o.threads, o.connections, int(o.duration.Seconds()),
		len(s.targets), o.pages, len(s.targets)/max(1, o.pages), o.warmup, o.runs)

	b.WriteString("| server | version | runs | requests/s (median) | p50 (median) | p99 (median) | bytes/response | server CPU time in the kernel | failed requests |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, k := range e.kinds {
		rs := tp.results[k.id]
		var p50, bpr []float64
		var failed int64
		for _, r := range rs {
			p50 = append(p50, r.P50US)
			if r.Requests > 0 {
				bpr = append(bpr, float64(r.Bytes)/float64(r.Requests))
			}
			failed += r.errors()
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s | %.0f%% | %d |\n", k.label, k.version, len(rs),
			thousands(benchmd.Median(rps(rs))), usec(benchmd.Median(p50)), usec(benchmd.Median(p99(rs))), thousands(benchmd.Median(bpr)),
			100*benchmd.Median(tp.kernel[k.id]), failed)
	}

	ratio := func(a, c string) (float64, float64) {
		ra, rc := tp.results[a], tp.results[c]
		return benchmd.Median(rps(ra)) / benchmd.Median(rps(rc)), benchmd.Median(p99(ra)) / benchmd.Median(p99(rc))
	}
	r, l := ratio("ruche", "caddy")
	verdict := "met"
	if r < 0.95 {
		verdict = "**not** met"
	}
	fmt.Fprintf(&b, "\nRatio ruche / Debian caddy, requests/s (medians): **%.2f** (goal ≥ 0.95: %s); "+
		"p99 ruche / Debian caddy: **%.2f** (lower is better).\n", r, verdict, l)
	stock := e.kind("stock")
	if tp.results["stock"] != nil {
		r, l := ratio("ruche", "stock")
		fmt.Fprintf(&b, "\nRatio ruche / plain Caddy of the same version and Go (what embedding costs): **%.2f** requests/s, p99 **%.2f**. ", r, l)
		r, l = ratio("stock", "caddy")
		fmt.Fprintf(&b, "Plain Caddy %s / Debian's caddy 2.6 (what the Caddy and Go versions cost): **%.2f** requests/s, p99 **%.2f**.\n",
			strings.TrimPrefix(strings.Split(stock.version, ",")[0], "caddy "), r, l)
	}
	b.WriteString("\nEach run, in order:\n\n")
	for _, k := range e.kinds {
		rs := tp.results[k.id]
		fmt.Fprintf(&b, "- %s: %s requests/s; p99 %s\n", k.id, joinF(rps(rs), thousands), joinF(p99(rs), usec))
	}
	fmt.Fprintf(&b, "\nDebian's caddy is **2.6** (bookworm's package, %s); the embedded one is **%s**: the ratio to Debian's "+
		"compares two Caddy versions built by two Go versions as much as embedding against a standalone binary",
		e.kind("caddy").version, e.kind("ruche").version)
	if tp.results["stock"] != nil {
		b.WriteString("; plain Caddy of ruche's own version (cmd/benchweb/stockcaddy: the Caddy modules services/web uses, " +
			"`caddy run` of the same configuration as Debian's) separates the two")
	}
	b.WriteString(".\n")

	if len(tp.syscalls) > 0 {
		names := topSyscalls(tp.syscalls, 10)
		fmt.Fprintf(&b, "\nSystem calls per request, counted by `strace -f -c -p PID` over a separate 3 s load "+
			"(8 connections; strace slows the servers down, so only the counts mean something; `nanosleep`, the Go runtime's "+
			"own timer, which strace makes more frequent, left out):\n\n| server | all |")
		for _, n := range names {
			fmt.Fprintf(&b, " %s |", n)
		}
		b.WriteString("\n|---|---|" + strings.Repeat("---|", len(names)) + "\n")
		for _, k := range e.kinds {
			c, ok := tp.syscalls[k.id]
			if !ok {
				continue
			}
			fmt.Fprintf(&b, "| %s | %.1f |", k.id, c.perRequest(""))
			for _, n := range names {
				fmt.Fprintf(&b, " %.1f |", c.perRequest(n))
			}
			b.WriteString("\n")
		}
		rc, cc := tp.syscalls["ruche"], tp.syscalls["caddy"]
		caddyVersion, goVersion, _ := strings.Cut(strings.TrimPrefix(e.kind("ruche").version, "caddy "), ", ")
		goVersion = strings.Replace(goVersion, "go", "Go ", 1)
		if rc.requests > 0 && cc.requests > 0 && rc.perRequest("openat") > cc.perRequest("openat")+0.5 {
			fmt.Fprintf(&b, "\nReading: to serve one page, ruche's Caddy opens %.0f files where Debian's opens %.0f and stats the rest "+
				"(`newfstatat`). In Caddy %s the file server's file system is wrapped (`internal/filesystems.wrapperFs` embeds "+
				"`fs.FS`, which hides `OsFS.Stat`), so each `fs.Stat` of the folder and of its `index.html` falls back to "+
				"open + fstat + close. And %s's `os.Open` of a regular file costs 4 `fcntl` and an `epoll_ctl` (it sets the "+
				"descriptor non-blocking, tries the netpoller, which refuses regular files, and sets it back). Hence %.1f system "+
				"calls per request against %.1f; where system calls are dear (ruche's server spent %.0f%% of its CPU time "+
				"in the kernel here) that is where the requests/s go.\n",
				rc.perRequest("openat"), cc.perRequest("openat"), caddyVersion, goVersion,
				rc.perRequest(""), cc.perRequest(""), 100*benchmd.Median(tp.kernel["ruche"]))
		}
		if rc.requests > 0 && cc.requests > 0 && rc.perRequest("sendfile") < 0.5 && cc.perRequest("sendfile") >= 0.5 && h1Only(s.rendered) {
			fmt.Fprintf(&b, "\nAnd ruche's Caddy sends no page with `sendfile`: it reads each file into memory and writes it out. The rendered "+
				"server says `\"protocols\": [\"h1\"]`, and with HTTP/1 alone Caddy %s wraps every connection to refuse an HTTP/2 "+
				"preface (`caddyhttp.http2Conn`, which hides `*net.TCPConn`'s `ReadFrom`); Debian's 2.6 does not. With `[\"h1\", \"h2\"]` "+
				"it leaves plain-HTTP connections unwrapped and uses `sendfile` again, but then also answers HTTP/2 "+
				"with prior knowledge (h2c) there.\n", caddyVersion)
		}
	}

	fmt.Fprintf(&b, "\nSame files served: before measuring, the %d URLs answered 200 with byte-identical bodies on every server, "+
		"and a missing page and an unknown Host the same 404.\n", tp.compared-2)
	for _, k := range e.kinds[1:] {
		diffs := tp.headerDiffs[k.id]
		if len(diffs) == 0 {
			fmt.Fprintf(&b, "\nResponse headers of ruche and %s: the same (Date aside).\n", k.id)
			continue
		}
		fmt.Fprintf(&b, "\nResponse headers that differ between ruche and %s (Date aside):\n\n", k.id)
		for _, d := range diffs {
			fmt.Fprintf(&b, "- %s\n", d)
		}
	}
	var kept []string
	for _, f := range []string{"shutdown_delay", "grace_period", "read_header_timeout", "idle_timeout", "automatic_https",
		"protocols", "vars_regexp", "strip_path_prefix", "status_code", "zstd", "persist"} {
		if strings.Contains(string(s.rendered), `"`+f+`"`) {
			kept = append(kept, "`"+f+"`")
		}
	}
	fmt.Fprintf(&b, "\nWhat the plain caddies run differs from the rendered `caddy.json` in this only (cmd/benchweb/config.go); "+
		"Debian's caddy 2.6 takes the rest as it is (`caddy validate` passes), %s included:\n\n", strings.Join(kept, ", "))
	for _, d := range s.diffs {
		fmt.Fprintf(&b, "- %s\n", d)
	}
	b.WriteString("<!-- /bench:web-throughput -->\n")
	return b.String()
}

// h1Only reports whether an HTTP server of the rendered configuration
// serves HTTP/1 alone.
func h1Only(rendered []byte) bool {
	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Protocols []string `json:"protocols"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if json.Unmarshal(rendered, &cfg) != nil {
		return false
	}
	for _, srv := range cfg.Apps.HTTP.Servers {
		if len(srv.Protocols) == 1 && srv.Protocols[0] == "h1" {
			return true
		}
	}
	return false
}

func rps(rs []wrkResult) []float64 {
	var v []float64
	for _, r := range rs {
		v = append(v, r.rps())
	}
	return v
}

func p99(rs []wrkResult) []float64 {
	var v []float64
	for _, r := range rs {
		v = append(v, r.P99US)
	}
	return v
}

func memorySection(o *options, e *env, rows []memRow, date string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- bench:web-memory -->\n## Memory of `ruche up` against Debian's `caddy`, same configuration\n\n")
	fmt.Fprintf(&b, "Measured %s on %s with:\n\n    %s\n\n", date, e.machine, o.command)
	fmt.Fprintf(&b, "`VmRSS` (resident now) and `VmHWM` (peak resident) from `/proc/PID/status` of the server process, "+
		"pinned to CPU %s. *Idle*: %v after it first answered 200 (for `ruche up`: after its start-up apply of the pack, "+
		"0 changes, which still renders every site to compare). *After load*: right after `wrk -t%d -c%d -d%ds` over %d pages of the pack "+
		"(keep-alive, round-robin, pinned to CPU %s). Each server runs alone, started afresh for each pack. "+
		"The plain caddies run the rendered configuration changed as the throughput section lists.\n\n",
		o.serverCPU, o.settle, o.threads, o.connections, int(o.memLoad.Seconds()), rows[0].urls, o.loadCPU)
	b.WriteString("| server | version | sites | ready in | VmRSS idle | VmHWM idle | VmRSS after load | VmHWM after load | requests/s during load |\n|---|---|---|---|---|---|---|---|---|\n")
	bySites := map[int]map[string]memRow{}
	var sizes []int
	for _, r := range rows {
		if bySites[r.sites] == nil {
			bySites[r.sites] = map[string]memRow{}
			sizes = append(sizes, r.sites)
		}
		bySites[r.sites][r.kind.id] = r
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", r.kind.label, r.kind.version, r.sites,
			r.ready.Round(10*time.Millisecond), mib(r.idle.RSSKiB), mib(r.idle.HWMKiB), mib(r.loaded.RSSKiB), mib(r.loaded.HWMKiB),
			thousands(r.load.rps()))
	}
	b.WriteString("\n")
	for _, n := range sizes {
		for _, other := range []string{"caddy", "stock"} {
			rc, cc := bySites[n]["ruche"], bySites[n][other]
			if rc.idle.RSSKiB == 0 || cc.idle.RSSKiB == 0 {
				continue
			}
			name := "Debian caddy"
			if other == "stock" {
				name = "plain Caddy of the same version"
			}
			fmt.Fprintf(&b, "- %d sites, ruche / %s: VmRSS idle **%.2f** (%+.1f MiB), after load **%.2f** (%+.1f MiB), peak after load **%.2f**.\n",
				n, name, float64(rc.idle.RSSKiB)/float64(cc.idle.RSSKiB), float64(rc.idle.RSSKiB-cc.idle.RSSKiB)/1024,
				float64(rc.loaded.RSSKiB)/float64(cc.loaded.RSSKiB), float64(rc.loaded.RSSKiB-cc.loaded.RSSKiB)/1024,
				float64(rc.loaded.HWMKiB)/float64(cc.loaded.HWMKiB))
		}
	}
	for _, n := range sizes {
		rc := bySites[n]["ruche"]
		if rc.heapInuse > 0 {
			fmt.Fprintf(&b, "- %d sites, `ruche up` idle, from its own `/metrics`: Go heap in use %s (`go_memstats_heap_inuse_bytes`); "+
				"the rendered site files of the pack weigh %s.\n", n, mib(rc.heapInuse/1024), mib(rc.sitesBytes/1024))
		}
	}
	b.WriteString("\n`ruche up` is the whole box, not only its web server: the panel, the pack engine and its SQLite " +
		"database, the supervisor, the metrics registry, the file watcher and the control socket live in the same process; " +
		"its peak (VmHWM) includes the render of the whole pack at start.\n")
	b.WriteString("<!-- /bench:web-memory -->\n")
	return b.String()
}

func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var parts []string
	for len(s) > 3 {
		parts = append([]string{s[len(s)-3:]}, parts...)
		s = s[:len(s)-3]
	}
	parts = append([]string{s}, parts...)
	out := strings.Join(parts, ",")
	if neg {
		out = "-" + out
	}
	return out
}

func usec(us float64) string {
	if us >= 1000 {
		return fmt.Sprintf("%.2f ms", us/1000)
	}
	return fmt.Sprintf("%.0f µs", us)
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func joinF(v []float64, f func(float64) string) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = f(x)
	}
	return strings.Join(s, ", ")
}
