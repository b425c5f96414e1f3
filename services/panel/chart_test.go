package panel

import (
	"cmp"
	"encoding/xml"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
)

// svgNode is any element of an SVG, as encoding/xml reads it.
type svgNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []svgNode  `xml:",any"`
}

func (n svgNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// walk calls f on n and every element under it.
func (n svgNode) walk(f func(n, parent svgNode)) {
	var rec func(n, parent svgNode)
	rec = func(n, parent svgNode) {
		f(n, parent)
		for _, c := range n.Nodes {
			rec(c, n)
		}
	}
	rec(n, svgNode{})
}

// parseSVGs finds every <svg> of an HTML page and parses it as XML: the
// charts must be well-formed on their own.
func parseSVGs(t *testing.T, html string) map[string]svgNode {
	t.Helper()
	out := map[string]svgNode{}
	for _, src := range regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(html, -1) {
		var n svgNode
		if err := xml.Unmarshal([]byte(src), &n); err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, src)
		}
		out[n.attr("id")] = n
	}
	return out
}

// chartFacts are what a chart shows, read back from its SVG.
type chartFacts struct {
	title, desc        string
	polylines          []int // points in each polyline
	circles            int
	xLabels, yLabels   []string
	legend             []string
	styled             bool // a style attribute or element: blocked by the CSP
	labelledByResolves bool
}

func factsOf(svg svgNode) chartFacts {
	var f chartFacts
	ids := map[string]bool{}
	svg.walk(func(n, parent svgNode) {
		if id := n.attr("id"); id != "" {
			ids[id] = true
		}
		if n.attr("style") != "" || n.XMLName.Local == "style" {
			f.styled = true
		}
		switch n.XMLName.Local {
		case "title":
			f.title = n.Text
		case "desc":
			f.desc = n.Text
		case "polyline":
			if parent.attr("class") != "legend" {
				f.polylines = append(f.polylines, len(strings.Fields(n.attr("points"))))
			}
		case "circle":
			f.circles++
		case "text":
			switch parent.attr("class") {
			case "axis-x":
				f.xLabels = append(f.xLabels, n.Text)
			case "axis-y":
				f.yLabels = append(f.yLabels, n.Text)
			case "legend":
				f.legend = append(f.legend, n.Text)
			}
		}
	})
	f.labelledByResolves = true
	for _, id := range strings.Fields(svg.attr("aria-labelledby")) {
		if !ids[id] {
			f.labelledByResolves = false
		}
	}
	return f
}

func TestChartSVG(t *testing.T) {
	// Noon UTC: whatever the machine's zone, the week's 7 midnights fall
	// within 17-24 November.
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	var samples []store.Sample
	// The disk: a sample an hour for the last 2 days, then a hole of 10
	// hours (the box was off), then 3 more hours: two lines.
	for i := 0; i < 48; i++ {
		at := now.Add(-60*time.Hour + time.Duration(i)*time.Hour)
		samples = append(samples,
			store.Sample{Kind: store.SampleDiskUsed, Target: "/", At: at, Value: 20e9 + uint64(i)*1e8},
			store.Sample{Kind: store.SampleDiskTotal, Target: "/", At: at, Value: 64e9})
	}
	for i := 0; i < 3; i++ {
		at := now.Add(-2*time.Hour + time.Duration(i)*time.Hour)
		samples = append(samples,
			store.Sample{Kind: store.SampleDiskUsed, Target: "/", At: at, Value: 25e9},
			store.Sample{Kind: store.SampleDiskTotal, Target: "/", At: at, Value: 64e9})
	}
	// Backups: usb every night of the week, support twice.
	for d := 1; d <= 7; d++ {
		at := time.Date(2026, 11, 17+d, 2, 31, 0, 0, time.UTC)
		samples = append(samples,
			store.Sample{Kind: store.SampleBackupAdded, Target: "usb", At: at, Value: uint64(d) * 1e6},
			store.Sample{Kind: store.SampleBackupStored, Target: "usb", At: at, Value: uint64(d) * 4e5})
	}
	for _, d := range []int{19, 23} {
		at := time.Date(2026, 11, d, 3, 0, 0, 0, time.UTC)
		samples = append(samples,
			store.Sample{Kind: store.SampleBackupAdded, Target: "support", At: at, Value: 3e6},
			store.Sample{Kind: store.SampleBackupStored, Target: "support", At: at, Value: 1e6})
	}
	sortSamples(samples)

	for _, tc := range []struct {
		lang  i18n.Lang
		month string
		words []string
	}{
		{i18n.FR, "nov.", []string{"Espace disque", "Utilisé /", "Taille /", "Nouveau usb", "Dépôt support", "64,0 Go"}},
		{i18n.EN, "Nov", []string{"Disk space", "Used /", "Size /", "New usb", "Repository support", "64.0 GB"}},
	} {
		v := buildUsageView(tc.lang, usageRanges[0], now, samples)
		var buf strings.Builder
		if err := usageTemplate.Execute(&buf, v); err != nil {
			t.Fatal(err)
		}
		html := buf.String()
		svgs := parseSVGs(t, html)
		if len(svgs) != 2 {
			t.Fatalf("%s: %d charts, want 2 (disk, backups)", tc.lang, len(svgs))
		}
		disk, backups := svgs["chart-disk"], svgs["chart-backup"]
		if disk.attr("width") != "100%" || !strings.HasPrefix(disk.attr("viewBox"), "0 0 480 ") || disk.attr("role") != "img" {
			t.Errorf("%s: disk chart's svg: width %q viewBox %q role %q", tc.lang, disk.attr("width"), disk.attr("viewBox"), disk.attr("role"))
		}
		df, bf := factsOf(disk), factsOf(backups)
		for name, f := range map[string]chartFacts{"disk": df, "backups": bf} {
			if f.styled {
				t.Errorf("%s %s: a style attribute or element (the CSP blocks it)", tc.lang, name)
			}
			if f.title == "" || f.desc == "" || !f.labelledByResolves {
				t.Errorf("%s %s: title %q, desc %q, aria-labelledby resolves: %v", tc.lang, name, f.title, f.desc, f.labelledByResolves)
			}
			// A week: one label a day, each naming the month.
			if len(f.xLabels) != 7 {
				t.Errorf("%s %s: %d time labels %q, want 7", tc.lang, name, len(f.xLabels), f.xLabels)
			}
			for _, l := range f.xLabels {
				if !strings.Contains(l, tc.month) {
					t.Errorf("%s %s: time label %q lacks %q", tc.lang, name, l, tc.month)
				}
			}
			if len(f.yLabels) != 5 || !strings.HasPrefix(f.yLabels[0], "0 ") {
				t.Errorf("%s %s: bytes labels %q, want 5 from 0", tc.lang, name, f.yLabels)
			}
		}
		// Disk: used and size, each cut in two by the hole.
		if want := []int{48, 3, 48, 3}; !slices.Equal(df.polylines, want) {
			t.Errorf("%s disk: points per polyline %v, want %v", tc.lang, df.polylines, want)
		}
		if df.yLabels[4] != humanBytes(tc.lang, 80e9) {
			t.Errorf("%s disk: top label %q, want %q (64 GB rounded up)", tc.lang, df.yLabels[4], humanBytes(tc.lang, 80e9))
		}
		// Backups: support (2) then usb (7 nights), added and stored,
		// with a dot for each backup.
		if want := []int{2, 2, 7, 7}; !slices.Equal(bf.polylines, want) {
			t.Errorf("%s backups: points per polyline %v, want %v", tc.lang, bf.polylines, want)
		}
		if bf.circles != 18 {
			t.Errorf("%s backups: %d dots, want 18", tc.lang, bf.circles)
		}
		all := html + strings.Join(df.legend, "|") + strings.Join(bf.legend, "|")
		for _, w := range tc.words {
			if !strings.Contains(all, w) {
				t.Errorf("%s: the history lacks %q", tc.lang, w)
			}
		}
		// The figures for whoever cannot see the chart: a row a day for
		// the disk (the 3 days of samples), a row a backup.
		tables := regexp.MustCompile(`(?s)<details>.*?</details>`).FindAllString(html, -1)
		if len(tables) != 2 {
			t.Fatalf("%s: %d tables under <details>, want 2", tc.lang, len(tables))
		}
		if n := strings.Count(tables[1], "<tr>") - 1; n != 9 {
			t.Errorf("%s: backup table has %d rows, want 9", tc.lang, n)
		}
		if n := strings.Count(tables[0], "<tr>") - 1; n < 3 || n > 4 {
			t.Errorf("%s: disk table has %d rows, want 3 or 4 (days, in local time)", tc.lang, n)
		}
	}
}

// sortSamples orders samples as the database returns them.
func sortSamples(s []store.Sample) {
	slices.SortFunc(s, func(a, b store.Sample) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Target, b.Target), a.At.Compare(b.At))
	})
}

func TestTimeTicks(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		r        usageRange
		min, max int
	}{
		{usageRanges[0], 7, 7},
		{usageRanges[1], 6, 6},
		{usageRanges[2], 6, 7},
	} {
		ticks := timeTicks(i18n.FR, now.Add(-time.Duration(tc.r.Days)*24*time.Hour), now)
		if len(ticks) < tc.min || len(ticks) > tc.max {
			t.Errorf("%s: %d ticks, want %d to %d", tc.r.Key, len(ticks), tc.min, tc.max)
		}
		for i := 1; i < len(ticks); i++ {
			if !ticks[i].at.After(ticks[i-1].at) {
				t.Errorf("%s: ticks out of order: %v", tc.r.Key, ticks)
			}
		}
	}
	// A year: odd months' first days, the first with its year, and
	// January's.
	var labels []string
	for _, tk := range timeTicks(i18n.EN, now.AddDate(-1, 0, 0), now) {
		labels = append(labels, tk.label)
	}
	if got, want := strings.Join(labels, "|"), "Jan 2026|Mar|May|Jul|Sep|Nov"; got != want {
		t.Errorf("a year's labels: %s, want %s", got, want)
	}
}

func TestNiceCeil(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{
		{0, 1}, {1, 1}, {7, 8}, {64e9, 80e9}, {12e6, 20e6}, {2.1e3, 2.5e3}, {5e5, 5e5}, {3e9, 4e9}, {5.5e3, 6e3}, {9e6, 10e6},
	} {
		if got := niceCeil(tc.in); got != tc.want {
			t.Errorf("niceCeil(%g) = %g, want %g", tc.in, got, tc.want)
		}
	}
}

// A new box has one sample: no line can be drawn from it, so each series
// shows it as a dot, never an empty chart.
func TestChartLoneSample(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	samples := []store.Sample{
		{Kind: store.SampleDiskTotal, Target: "/", At: now.Add(-time.Minute), Value: 64e9},
		{Kind: store.SampleDiskUsed, Target: "/", At: now.Add(-time.Minute), Value: 20e9},
	}
	sortSamples(samples)
	var buf strings.Builder
	if err := usageTemplate.Execute(&buf, buildUsageView(i18n.FR, usageRanges[0], now, samples)); err != nil {
		t.Fatal(err)
	}
	disk := factsOf(parseSVGs(t, buf.String())["chart-disk"])
	if len(disk.polylines) != 0 || disk.circles != 2 {
		t.Errorf("one sample: polylines %v and %d dots, want none and 2", disk.polylines, disk.circles)
	}
}
