package panel

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
	"github.com/ruche-box/ruche/services/health"
)

// The dashboard's history: the daemon samples the disks and the backups'
// sizes (RecordUsage), the database keeps them thinned (store.RecordSamples),
// chart.go draws them.

// UsageInterval is how often the daemon samples: the database's slot, so
// that every sample it takes is kept for the week.
const UsageInterval = store.SampleSlot

// RecordUsage takes a sample of the box's disks and backups at once, then
// every interval, until ctx ends. A sample that fails is logged and the
// next one tried: a missing point in a chart is no reason to stop. It
// returns at once when the panel has no database or no root.
func (p *Panel) RecordUsage(ctx context.Context, interval time.Duration) {
	if p.opts.DB == nil || p.opts.Root == "" || interval <= 0 {
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := p.RecordUsageOnce(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("usage samples", "err", err)
		}
		// Checked before waiting: when the context ends while a tick is
		// also due, select would pick either at random and might sample
		// once more after the end.
		if ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RecordUsageOnce stores one sample of the disks and backups now.
func (p *Panel) RecordUsageOnce(ctx context.Context) error {
	if p.opts.DB == nil || p.opts.Root == "" {
		return nil
	}
	now := p.now()
	return p.opts.DB.RecordSamples(ctx, now, p.usageSamples(now))
}

// usageSamples are the figures of the moment: for each disk the dashboard
// shows, its size and what is used of it; for each backup target, the
// sizes of its last successful backup, dated when it ended (sampling it
// again every 15 minutes writes the same row again, nothing more).
//
// "Used" is the size less what the box may still write (health.Disk's
// Free, df's Avail): the space reserved for root counts as used, so that
// the line meets the size when the box can write no more.
func (p *Panel) usageSamples(now time.Time) []store.Sample {
	root := p.opts.Root
	var out []store.Sample
	for _, path := range diskPaths(root) {
		u, err := health.Disk(path)
		if err != nil {
			p.log.Warn("usage samples: disk", "path", path, "err", err)
			continue
		}
		out = append(out,
			store.Sample{Kind: store.SampleDiskUsed, Target: path, At: now, Value: u.Used},
			store.Sample{Kind: store.SampleDiskTotal, Target: path, At: now, Value: u.Total})
	}
	state, err := backup.ReadState(root)
	if err != nil {
		p.log.Warn("usage samples: backups", "err", err)
		return out
	}
	for _, name := range slices.Sorted(maps.Keys(state.Targets)) {
		ts := state.Targets[name]
		if ts == nil || ts.LastSuccess.IsZero() {
			continue
		}
		out = append(out,
			store.Sample{Kind: store.SampleBackupAdded, Target: name, At: ts.LastSuccess, Value: ts.LastBytesAdded},
			store.Sample{Kind: store.SampleBackupStored, Target: name, At: ts.LastSuccess, Value: ts.LastBytesStored})
	}
	return out
}

// usageRange is a period the charts show.
type usageRange struct {
	Key  string // the query's value: /history?range=7d
	Days int
}

var (
	usageRanges = []usageRange{{"7d", 7}, {"30d", 30}, {"1y", 365}}
	// defaultRange is the dashboard's: a month shows both the week's
	// detail and a trend.
	defaultRange = usageRanges[1]
)

var msgBadRange = i18n.M{
	FR: "range : %q inconnu ; valeurs possibles : 7d, 30d, 1y",
	EN: "range: unknown %q; possible values: 7d, 30d, 1y",
}

// rangeOf reads the range parameter; ok is false (and the answer sent)
// when it is not one of usageRanges.
func (c *call) rangeOf() (usageRange, bool) {
	v := c.r.URL.Query().Get("range")
	if v == "" {
		return defaultRange, true
	}
	for _, r := range usageRanges {
		if r.Key == v {
			return r, true
		}
	}
	c.fail(http.StatusBadRequest, msgBadRange, v)
	return usageRange{}, false
}

// usageHistory reads the samples of the range ending now; nil (logged)
// when the database cannot say.
func (p *Panel) usageHistory(ctx context.Context, r usageRange, now time.Time) []store.Sample {
	if p.opts.DB == nil {
		return nil
	}
	from := now.Add(-time.Duration(r.Days) * 24 * time.Hour)
	samples, err := p.opts.DB.Samples(ctx, from, now.Add(time.Minute))
	if err != nil {
		p.log.Warn("usage history", "err", err)
		return nil
	}
	return samples
}

// historyPage is GET /history: the charts of a range (7d, 30d or 1y).
func (p *Panel) historyPage(c *call) {
	r, ok := c.rangeOf()
	if !ok {
		return
	}
	c.page(http.StatusOK, "history", text(c.lang, "dash.chart.page"), "home",
		struct{ History any }{p.usageSection(c, r)})
}

// usagePoint and usageSeries are GET /api/usage's answer.
type usagePoint struct {
	At    time.Time `json:"at"`
	Value uint64    `json:"value"`
}

type usageSeries struct {
	Kind   string       `json:"kind"`
	Target string       `json:"target"`
	Points []usagePoint `json:"points"`
}

// apiUsage is GET /api/usage?range=30d: the samples behind the charts,
// one series per kind and target, bytes.
func (p *Panel) apiUsage(c *call) {
	r, ok := c.rangeOf()
	if !ok {
		return
	}
	now := p.now()
	out := struct {
		Range  string        `json:"range"`
		From   time.Time     `json:"from"`
		To     time.Time     `json:"to"`
		Series []usageSeries `json:"series"`
	}{Range: r.Key, From: now.Add(-time.Duration(r.Days) * 24 * time.Hour).UTC(), To: now.UTC(), Series: []usageSeries{}}
	for _, s := range p.usageHistory(c.r.Context(), r, now) {
		n := len(out.Series)
		if n == 0 || out.Series[n-1].Kind != s.Kind || out.Series[n-1].Target != s.Target {
			out.Series = append(out.Series, usageSeries{Kind: s.Kind, Target: s.Target})
			n++
		}
		out.Series[n-1].Points = append(out.Series[n-1].Points, usagePoint{At: s.At, Value: s.Value})
	}
	writeJSON(c.w, http.StatusOK, out)
}
