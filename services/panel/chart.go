package panel

import (
	"bytes"
	"fmt"
	"html/template"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
)

// Charts of the dashboard's history, drawn on the server as inline SVG:
// the panel has no script, and its CSP forbids inline styles, so every
// look is an SVG presentation attribute (fill, stroke, font-size), never
// a style. Each chart has a <title> and a <desc> that say what it shows,
// and its figures in a table under <details> for whoever cannot see it.
// The viewBox scales it to the screen's width, phones included.

// chartTexts are the history's words; keys start with "dash.chart.".
var chartTexts = map[string]i18n.M{
	"dash.chart.title":     {FR: "Historique", EN: "History"},
	"dash.chart.page":      {FR: "Historique du disque et des sauvegardes", EN: "Disk and backup history"},
	"dash.chart.back":      {FR: "Retour au tableau de bord", EN: "Back to the dashboard"},
	"dash.chart.ranges":    {FR: "Période :", EN: "Period:"},
	"dash.chart.range.7d":  {FR: "7 jours", EN: "7 days"},
	"dash.chart.range.30d": {FR: "30 jours", EN: "30 days"},
	"dash.chart.range.1y":  {FR: "1 an", EN: "1 year"},
	"dash.chart.empty":     {FR: "Pas encore de mesure : la box en prend une au démarrage puis toutes les 15 minutes.", EN: "No measure yet: the box takes one when it starts, then every 15 minutes."},
	"dash.chart.disk":      {FR: "Espace disque", EN: "Disk space"},
	"dash.chart.disk.desc": {FR: "Espace utilisé (trait plein) et taille (tirets) de chaque disque, %s.", EN: "Space used (solid line) and size (dashes) of each disk, %s."},
	"dash.chart.disk.last": {FR: "Disque %s : %s utilisés sur %s le %s.", EN: "Disk %s: %s used of %s on %s."},
	"dash.chart.used":      {FR: "Utilisé %s", EN: "Used %s"},
	"dash.chart.size":      {FR: "Taille %s", EN: "Size %s"},
	"dash.chart.backup":    {FR: "Taille des sauvegardes", EN: "Backup sizes"},
	"dash.chart.backup.desc": {FR: "Pour chaque sauvegarde réussie, données nouvelles (trait plein) et ce qu'elles ont ajouté au dépôt une fois compressées (tirets), %s.",
		EN: "For each successful backup, new data (solid line) and what it added to the repository once compressed (dashes), %s."},
	"dash.chart.backup.last": {FR: "Cible %s : %d sauvegardes ; la dernière, le %s, a ajouté %s (%s dans le dépôt).", EN: "Target %s: %d backups; the last one, on %s, added %s (%s in the repository)."},
	"dash.chart.added":       {FR: "Nouveau %s", EN: "New %s"},
	"dash.chart.stored":      {FR: "Dépôt %s", EN: "Repository %s"},
	"dash.chart.nobackup":    {FR: "Aucune sauvegarde réussie sur la période.", EN: "No successful backup in the period."},
	"dash.chart.period":      {FR: "du %s au %s", EN: "from %s to %s"},
	"dash.chart.figures":     {FR: "Les chiffres : %s", EN: "The figures: %s"},
	"dash.chart.day":         {FR: "Jour", EN: "Day"},
	"dash.chart.when":        {FR: "Fin de la sauvegarde", EN: "Backup ended"},
	"dash.chart.target":      {FR: "Cible", EN: "Target"},
	"dash.chart.col.added":   {FR: "Données nouvelles", EN: "New data"},
	"dash.chart.col.stored":  {FR: "Ajouté au dépôt", EN: "Added to the repository"},
}

func init() { maps.Copy(texts, chartTexts) }

// Geometry, in the viewBox's units. 480 wide keeps 11-unit labels
// readable when a phone shrinks the chart to 360 pixels.
// The plot is 180 high; the legend's rows above it make the chart taller.
const (
	chartW                 = 480
	chartLeft, chartRight  = 62, 10
	chartBottom            = 24
	chartPlotW, chartPlotH = chartW - chartLeft - chartRight, 180
	chartLegendRow         = 16
	chartFont              = 11
)

// chartColors tell targets and disks apart, readable on the light and the
// dark theme; solid and dashed lines tell the two figures of one apart.
var chartColors = []string{"#2a7ab0", "#d9711c", "#2e9e6a", "#8e6cc0", "#c0436c"}

// chart is one SVG chart and its table.
type chart struct {
	ID           string // prefix of its elements' ids
	Title, Desc  string
	W, H         int
	Left, Bottom float64 // x of the y axis, y of the x axis
	Right        float64
	YTicks       []chartTick
	XTicks       []chartTick
	Series       []chartSeries
	Legend       []chartLegend
	Table        chartTable
}

type chartTick struct {
	Pos   float64
	Label string
}

type chartSeries struct {
	Color, Dash string
	Lines       []string // polylines' points, "x,y x,y ..."
	Dots        []chartDot
}

type chartDot struct{ X, Y float64 }

type chartLegend struct {
	X, Y        float64
	Color, Dash string
	Label       string
}

type chartTable struct {
	Caption string
	Head    []string
	Rows    [][]string
}

// usageView is what the history section shows.
type usageView struct {
	Lang   i18n.Lang
	Ranges []rangeLink
	Empty  bool
	Charts []*chart
	Note   string // a sentence where a chart could not be drawn
}

type rangeLink struct {
	Key, Label string
	Current    bool
}

// usageSection renders the history for range r: the charts of the disks
// and of the backups, their tables, and links to the other ranges.
func (p *Panel) usageSection(c *call, r usageRange) template.HTML {
	now := p.now()
	v := buildUsageView(c.lang, r, now, p.usageHistory(c.r.Context(), r, now))
	var buf bytes.Buffer
	if err := usageTemplate.Execute(&buf, v); err != nil {
		p.log.Error("usage chart", "err", err)
		return ""
	}
	return template.HTML(buf.String()) // html/template's own output
}

// buildUsageView lays out the charts of samples over the days of r ending
// at now.
func buildUsageView(lang i18n.Lang, r usageRange, now time.Time, samples []store.Sample) usageView {
	v := usageView{Lang: lang}
	for _, o := range usageRanges {
		v.Ranges = append(v.Ranges, rangeLink{Key: o.Key, Label: text(lang, "dash.chart.range."+o.Key), Current: o.Key == r.Key})
	}
	if len(samples) == 0 {
		v.Empty = true
		return v
	}
	from := now.Add(-time.Duration(r.Days) * 24 * time.Hour)
	series := map[string]map[string][]store.Sample{} // kind → target → samples
	for _, s := range samples {
		if series[s.Kind] == nil {
			series[s.Kind] = map[string][]store.Sample{}
		}
		series[s.Kind][s.Target] = append(series[s.Kind][s.Target], s)
	}
	period := text(lang, "dash.chart.period", dayLabel(lang, from, true), dayLabel(lang, now, true))
	if ch := diskChart(lang, series, from, now, period); ch != nil {
		v.Charts = append(v.Charts, ch)
	}
	if ch := backupChart(lang, series, from, now, period); ch != nil {
		v.Charts = append(v.Charts, ch)
	} else {
		v.Note = text(lang, "dash.chart.nobackup")
	}
	return v
}

// line is one series to draw: its samples, color and dashes.
type line struct {
	samples     []store.Sample
	color, dash string
	label       string
	dots        bool
}

func diskChart(lang i18n.Lang, series map[string]map[string][]store.Sample, from, to time.Time, period string) *chart {
	used, total := series[store.SampleDiskUsed], series[store.SampleDiskTotal]
	paths := slices.Sorted(maps.Keys(used))
	if len(paths) == 0 {
		return nil
	}
	var lines []line
	desc := text(lang, "dash.chart.disk.desc", period)
	tab := chartTable{Caption: text(lang, "dash.chart.disk"), Head: []string{text(lang, "dash.chart.day")}}
	for i, path := range paths {
		color := chartColors[i%len(chartColors)]
		lines = append(lines,
			line{samples: used[path], color: color, dash: "none", label: text(lang, "dash.chart.used", path)},
			line{samples: total[path], color: color, dash: "6 4", label: text(lang, "dash.chart.size", path)})
		u := used[path][len(used[path])-1]
		size := "?"
		if t := total[path]; len(t) > 0 {
			size = humanBytes(lang, t[len(t)-1].Value)
		}
		desc += " " + text(lang, "dash.chart.disk.last", path, humanBytes(lang, u.Value), size, when(lang, u.At))
		tab.Head = append(tab.Head, text(lang, "dash.chart.used", path), text(lang, "dash.chart.size", path))
	}
	// One row a day: the day's last figures, as the database keeps them
	// past the week.
	days := map[string][]string{}
	var order []string
	for i, path := range paths {
		for j, s := range [][]store.Sample{used[path], total[path]} {
			for _, x := range s {
				d := dayLabel(lang, x.At, true)
				if days[d] == nil {
					days[d] = make([]string, 2*len(paths))
					order = append(order, sortKey(x.At)+d)
				}
				days[d][2*i+j] = humanBytes(lang, x.Value)
			}
		}
	}
	slices.Sort(order)
	for _, k := range order {
		d := k[len("2006-01-02"):]
		tab.Rows = append(tab.Rows, append([]string{d}, days[d]...))
	}
	return drawChart("chart-disk", text(lang, "dash.chart.disk"), desc, from, to, lines, tab, lang)
}

// sortKey orders local days.
func sortKey(t time.Time) string { return t.Local().Format("2006-01-02") }

func backupChart(lang i18n.Lang, series map[string]map[string][]store.Sample, from, to time.Time, period string) *chart {
	added, stored := series[store.SampleBackupAdded], series[store.SampleBackupStored]
	targets := slices.Sorted(maps.Keys(added))
	if len(targets) == 0 {
		return nil
	}
	var lines []line
	desc := text(lang, "dash.chart.backup.desc", period)
	tab := chartTable{Caption: text(lang, "dash.chart.backup"), Head: []string{
		text(lang, "dash.chart.when"), text(lang, "dash.chart.target"), text(lang, "dash.chart.col.added"), text(lang, "dash.chart.col.stored"),
	}}
	type row struct {
		at    time.Time
		cells []string
	}
	var rows []row
	for i, name := range targets {
		color := chartColors[i%len(chartColors)]
		lines = append(lines,
			line{samples: added[name], color: color, dash: "none", label: text(lang, "dash.chart.added", name), dots: true},
			line{samples: stored[name], color: color, dash: "6 4", label: text(lang, "dash.chart.stored", name), dots: true})
		storedAt := map[time.Time]uint64{}
		for _, s := range stored[name] {
			storedAt[s.At] = s.Value
		}
		for _, s := range added[name] {
			rows = append(rows, row{s.At, []string{when(lang, s.At), name, humanBytes(lang, s.Value), humanBytes(lang, storedAt[s.At])}})
		}
		last := added[name][len(added[name])-1]
		desc += " " + text(lang, "dash.chart.backup.last", name, len(added[name]), when(lang, last.At),
			humanBytes(lang, last.Value), humanBytes(lang, storedAt[last.At]))
	}
	slices.SortStableFunc(rows, func(a, b row) int { return a.at.Compare(b.at) })
	for _, r := range rows {
		tab.Rows = append(tab.Rows, r.cells)
	}
	return drawChart("chart-backup", text(lang, "dash.chart.backup"), desc, from, to, lines, tab, lang)
}

// drawChart places lines on a time axis from..to and a bytes axis from 0
// to a round value above the highest sample.
func drawChart(id, title, desc string, from, to time.Time, lines []line, tab chartTable, lang i18n.Lang) *chart {
	var top uint64
	for _, l := range lines {
		for _, s := range l.samples {
			top = max(top, s.Value)
		}
	}
	ymax := niceCeil(float64(top))
	ch := &chart{ID: id, Title: title, Desc: desc, W: chartW, Table: tab}
	// The legend first: its rows push the plot down. Labels are not
	// measured: about 6 units a character at size 11.
	legendX, legendY := float64(chartLeft), float64(chartLegendRow)
	for _, l := range lines {
		w := 28 + 6*float64(len([]rune(l.label)))
		if legendX > chartLeft && legendX+w > chartW-chartRight {
			legendX, legendY = chartLeft, legendY+chartLegendRow
		}
		ch.Legend = append(ch.Legend, chartLegend{X: legendX, Y: legendY, Color: l.color, Dash: l.dash, Label: l.label})
		legendX += w + 12
	}
	top0 := legendY + 12
	ch.H = int(top0) + chartPlotH + chartBottom
	ch.Left, ch.Right, ch.Bottom = chartLeft, chartW-chartRight, top0+chartPlotH
	span := to.Sub(from).Seconds()
	x := func(t time.Time) float64 { return chartLeft + chartPlotW*t.Sub(from).Seconds()/span }
	y := func(v uint64) float64 { return top0 + chartPlotH*(1-float64(v)/ymax) }
	const yTicks = 4
	for i := 0; i <= yTicks; i++ {
		v := ymax * float64(i) / yTicks
		ch.YTicks = append(ch.YTicks, chartTick{Pos: y(uint64(v)), Label: humanBytes(lang, uint64(v))})
	}
	for _, t := range timeTicks(lang, from, to) {
		ch.XTicks = append(ch.XTicks, chartTick{Pos: x(t.at), Label: t.label})
	}
	for _, l := range lines {
		s := chartSeries{Color: l.color, Dash: l.dash}
		var pts []byte
		var prev time.Time
		var last chartDot
		n := 0 // points in pts
		// flush ends a line; a line of one point (the first sample of a
		// new box, or one alone between two holes) would draw nothing,
		// so it becomes a dot.
		flush := func() {
			switch {
			case n == 1 && !l.dots:
				s.Dots = append(s.Dots, last)
			case n > 0:
				s.Lines = append(s.Lines, string(pts))
			}
			pts, n = pts[:0], 0
		}
		for _, smp := range l.samples {
			if smp.At.Before(from) || smp.At.After(to) {
				continue
			}
			// A hole in the sampling (the box was off) stays a hole:
			// no straight line drawn across it.
			if n > 0 && !l.dots && smp.At.Sub(prev) > gapAfter(prev, to) {
				flush()
			}
			if n > 0 {
				pts = append(pts, ' ')
			}
			px, py := x(smp.At), y(smp.Value)
			pts = fmt.Appendf(pts, "%.1f,%.1f", px, py)
			n++
			last = chartDot{X: px, Y: py}
			if l.dots {
				s.Dots = append(s.Dots, last)
			}
			prev = smp.At
		}
		flush()
		ch.Series = append(ch.Series, s)
	}
	return ch
}

// gapAfter is the longest wait between two samples drawn as one line: a
// few slots within the week, a little over a day past it (one sample a
// day is kept there).
func gapAfter(t, now time.Time) time.Duration {
	if now.Sub(t) < store.SampleFineFor {
		return 4 * store.SampleSlot
	}
	return 36 * time.Hour
}

// niceCeil is the smallest of 1, 2, 2.5, 4, 5, 6 or 8 times a power of
// ten that is at least v (1 for v <= 0), so that the axis' four steps are
// round and the highest line fills most of the height.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 4, 5, 6, 8, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

type timeTick struct {
	at    time.Time
	label string
}

// timeTicks are the time axis' marks in local time: every day over a
// week, every 5 days over a month, every other month's first day over a
// year.
func timeTicks(lang i18n.Lang, from, to time.Time) []timeTick {
	from, to = from.Local(), to.Local()
	var out []timeTick
	if to.Sub(from) <= 32*24*time.Hour {
		step := 1
		if to.Sub(from) > 8*24*time.Hour {
			step = 5
		}
		t := time.Date(from.Year(), from.Month(), from.Day()+1, 0, 0, 0, 0, time.Local)
		for i := 0; i < 40 && !t.After(to); i++ {
			out = append(out, timeTick{t, dayLabel(lang, t, false)})
			t = time.Date(t.Year(), t.Month(), t.Day()+step, 0, 0, 0, 0, time.Local)
		}
		return out
	}
	t := time.Date(from.Year(), from.Month()+1, 1, 0, 0, 0, 0, time.Local)
	if t.Month()%2 == 0 {
		t = t.AddDate(0, 1, 0)
	}
	for i := 0; i < 40 && !t.After(to); i++ {
		label := monthName(lang, t.Month())
		if i == 0 || t.Month() == time.January {
			label += fmt.Sprintf(" %d", t.Year())
		}
		out = append(out, timeTick{t, label})
		t = t.AddDate(0, 2, 0)
	}
	return out
}

var monthsFR = []string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}

func monthName(lang i18n.Lang, m time.Month) string {
	if lang == i18n.EN {
		return m.String()[:3]
	}
	return monthsFR[m-1]
}

// dayLabel is a day for an axis ("24 nov.", "Nov 24"), or with its year
// for a sentence or a table.
func dayLabel(lang i18n.Lang, t time.Time, year bool) string {
	t = t.Local()
	var s string
	if lang == i18n.EN {
		s = fmt.Sprintf("%s %d", monthName(lang, t.Month()), t.Day())
		if year {
			s += fmt.Sprintf(", %d", t.Year())
		}
		return s
	}
	s = fmt.Sprintf("%d %s", t.Day(), monthName(lang, t.Month()))
	if year {
		s += fmt.Sprintf(" %d", t.Year())
	}
	return s
}

// usageTemplate is the history section. Numbers are formatted here with
// one decimal: the viewBox is 480 units wide, finer is noise.
var usageTemplate = template.Must(template.New("usage").Funcs(funcs).Funcs(template.FuncMap{
	"n":     func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"add":   func(a, b float64) float64 { return a + b },
	"ticky": func(f float64) string { return fmt.Sprintf("%.1f", f+chartFont+4) },
}).Parse(`<section aria-labelledby="h-usage">
<h2 id="h-usage">{{t .Lang "dash.chart.title"}}</h2>
<p>{{t .Lang "dash.chart.ranges"}}{{range .Ranges}} {{if .Current}}<strong aria-current="page">{{.Label}}</strong>{{else}}<a href="/history?range={{.Key}}">{{.Label}}</a>{{end}}{{end}}</p>
{{- if .Empty}}
<p>{{t .Lang "dash.chart.empty"}}</p>
{{- else}}
{{- range $c := .Charts}}
<figure>
<svg class="chart" id="{{.ID}}" viewBox="0 0 {{.W}} {{.H}}" width="100%" role="img" aria-labelledby="{{.ID}}-title {{.ID}}-desc" font-family="sans-serif" font-size="11">
<title id="{{.ID}}-title">{{.Title}}</title>
<desc id="{{.ID}}-desc">{{.Desc}}</desc>
<g stroke="currentColor" stroke-opacity="0.25" stroke-width="1">
{{- range .YTicks}}
<line x1="{{n $c.Left}}" y1="{{n .Pos}}" x2="{{n $c.Right}}" y2="{{n .Pos}}"/>
{{- end}}
{{- range .XTicks}}
<line x1="{{n .Pos}}" y1="{{n $c.Bottom}}" x2="{{n .Pos}}" y2="{{n (add $c.Bottom 4)}}"/>
{{- end}}
</g>
<g fill="currentColor" class="axis-y" text-anchor="end">
{{- range .YTicks}}
<text x="{{n (add $c.Left -4)}}" y="{{n (add .Pos 4)}}">{{.Label}}</text>
{{- end}}
</g>
<g fill="currentColor" class="axis-x" text-anchor="middle">
{{- range .XTicks}}
<text x="{{n .Pos}}" y="{{ticky $c.Bottom}}">{{.Label}}</text>
{{- end}}
</g>
{{- range .Series}}
<g fill="none" stroke="{{.Color}}" stroke-width="2" stroke-dasharray="{{.Dash}}" stroke-linejoin="round">
{{- range .Lines}}
<polyline points="{{.}}"/>
{{- end}}
</g>
{{- if .Dots}}
<g fill="{{.Color}}">
{{- range .Dots}}
<circle cx="{{n .X}}" cy="{{n .Y}}" r="2.5"/>
{{- end}}
</g>
{{- end}}
{{- end}}
<g class="legend">
{{- range .Legend}}
<line x1="{{n .X}}" y1="{{n (add .Y -4)}}" x2="{{n (add .X 22)}}" y2="{{n (add .Y -4)}}" stroke="{{.Color}}" stroke-width="2" stroke-dasharray="{{.Dash}}"/>
<text x="{{n (add .X 28)}}" y="{{n .Y}}" fill="currentColor">{{.Label}}</text>
{{- end}}
</g>
</svg>
<figcaption><details><summary>{{t $.Lang "dash.chart.figures" .Title}}</summary>
<div class="scroll"><table>
<caption>{{.Table.Caption}}</caption>
<thead><tr>{{range .Table.Head}}<th scope="col">{{.}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Table.Rows}}
<tr>{{range $i, $c := .}}{{if eq $i 0}}<th scope="row">{{$c}}</th>{{else}}<td>{{$c}}</td>{{end}}{{end}}</tr>
{{- end}}
</tbody>
</table></div>
</details></figcaption>
</figure>
{{- end}}
{{- with .Note}}
<p>{{.}}</p>
{{- end}}
{{- end}}
</section>
`))
