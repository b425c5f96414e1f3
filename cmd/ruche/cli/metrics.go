package cli

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision"
)

// metrics are the daemon's Prometheus metrics, namespace ruche_. Every
// periodic job has a last-success timestamp so that an alert can say "no
// successful apply (or backup) for N hours".
type metrics struct {
	registry         *prometheus.Registry
	applyLastSuccess prometheus.Gauge
	applyTotal       *prometheus.CounterVec
	applyLastChanges prometheus.Gauge
	serviceRestarts  *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		applyLastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "ruche", Name: "apply_last_success_timestamp_seconds",
			Help: "Unix time of the last successful apply.",
		}),
		applyTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ruche", Name: "apply_total",
			Help: "Applies run by the daemon, by result (ok, failed).",
		}, []string{"result"}),
		applyLastChanges: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "ruche", Name: "apply_last_changes",
			Help: "Number of changes made by the last successful apply.",
		}),
		serviceRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ruche", Name: "service_restarts_total",
			Help: "Restarts of a supervised service after it crashed.",
		}, []string{"service"}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "ruche"}),
		m.applyLastSuccess, m.applyTotal, m.applyLastChanges, m.serviceRestarts,
	)
	return m
}

func (m *metrics) applied(err error, res *provision.Result) {
	if err != nil {
		m.applyTotal.WithLabelValues("failed").Inc()
		return
	}
	m.applyTotal.WithLabelValues("ok").Inc()
	m.applyLastSuccess.Set(float64(time.Now().UnixNano()) / 1e9)
	m.applyLastChanges.Set(float64(provision.CountChanges(res.Changes)))
}

func (m *metrics) serviceRestarted(name string) {
	m.serviceRestarts.WithLabelValues(name).Inc()
}

// watchServices exports each supervised service's state as ruche_service_up.
func (m *metrics) watchServices(sup provision.Supervisor) {
	m.registry.MustRegister(&serviceCollector{sup: sup, desc: prometheus.NewDesc(
		"ruche_service_up", "1 when the supervised service is running.", []string{"service", "state"}, nil)})
}

type serviceCollector struct {
	sup  provision.Supervisor
	desc *prometheus.Desc
}

func (c *serviceCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *serviceCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.sup.Status() {
		up := 0.0
		if s.State == provision.StateRunning {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, up, s.Name, string(s.State))
	}
}

// watchBackups exports the backups' state file (written by every backup,
// whoever runs it: the scheduler, `ruche backup now`) at each scrape.
func (m *metrics) watchBackups(root string) {
	m.registry.MustRegister(&backupCollector{root: root,
		lastSuccess: prometheus.NewDesc("ruche_backup_last_success_timestamp_seconds",
			"Unix time of the last successful backup to the target.", []string{"target"}, nil),
		duration: prometheus.NewDesc("ruche_backup_last_duration_seconds",
			"How long the last successful backup to the target took.", []string{"target"}, nil),
		added: prometheus.NewDesc("ruche_backup_last_bytes_added",
			"New data (before compression) the last successful backup to the target added.", []string{"target"}, nil),
		ok: prometheus.NewDesc("ruche_backup_last_ok",
			"1 when the last backup attempt to the target succeeded.", []string{"target", "status"}, nil),
		drill: prometheus.NewDesc("ruche_backup_last_drill_success_timestamp_seconds",
			"Unix time of the last restore drill that verified.", nil, nil),
	})
}

type backupCollector struct {
	root                                    string
	lastSuccess, duration, added, ok, drill *prometheus.Desc
}

func (c *backupCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lastSuccess
	ch <- c.duration
	ch <- c.added
	ch <- c.ok
	ch <- c.drill
}

func (c *backupCollector) Collect(ch chan<- prometheus.Metric) {
	if ds, err := backup.ReadDrillState(c.root); err == nil && !ds.LastSuccess.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.drill, prometheus.GaugeValue, float64(ds.LastSuccess.UnixNano())/1e9)
	}
	st, err := backup.ReadState(c.root)
	if err != nil {
		return
	}
	for name, t := range st.Targets {
		ok := 0.0
		if t.LastStatus == backup.StatusOK {
			ok = 1
		}
		ch <- prometheus.MustNewConstMetric(c.ok, prometheus.GaugeValue, ok, name, string(t.LastStatus))
		if t.LastSuccess.IsZero() {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.lastSuccess, prometheus.GaugeValue, float64(t.LastSuccess.UnixNano())/1e9, name)
		ch <- prometheus.MustNewConstMetric(c.duration, prometheus.GaugeValue, t.LastSuccessDurationSeconds, name)
		ch <- prometheus.MustNewConstMetric(c.added, prometheus.GaugeValue, float64(t.LastBytesAdded), name)
	}
}
