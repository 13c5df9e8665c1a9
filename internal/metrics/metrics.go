// Package metrics builds coze2app's private Prometheus registry.
//
// Nothing is registered globally: every App (and every test) gets its own
// registry, so metric names are a contract that tests can check.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the app's collectors.
type Metrics struct {
	Registry *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	refreshes    *prometheus.CounterVec
	streamsOpen  prometheus.Gauge
	streamsTotal *prometheus.CounterVec
	signIns      *prometheus.CounterVec
}

// New registers the app's collectors plus the Go and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	counters := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m := &Metrics{
		Registry: reg,
		httpRequests: counters("coze2app_http_requests_total",
			"HTTP requests served, by route pattern, method and status code.", "route", "method", "code"),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "coze2app_http_request_duration_seconds",
			Help:    "Time to serve a request (streams: until the stream ends), by route pattern.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 30, 120},
		}, []string{"route"}),
		refreshes: counters("coze2app_token_refreshes_total",
			"Coze token refreshes, by outcome (ok, fatal, transient).", "outcome"),
		streamsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "coze2app_chat_streams_open",
			Help: "Chat streams currently relayed to browsers.",
		}),
		streamsTotal: counters("coze2app_chat_streams_total",
			"Chat streams relayed to browsers, by how they started (new, resume).", "kind"),
		signIns: counters("coze2app_sign_ins_total", "Sign-in callbacks, by outcome.", "outcome"),
	}
	reg.MustRegister(m.httpRequests, m.httpDuration, m.refreshes, m.streamsOpen, m.streamsTotal, m.signIns,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// ObserveHTTP records one served request. route must come from a fixed set
// (the router's patterns); method and code are mapped onto fixed sets here,
// because a client picks them: each distinct label value is a series that is
// never freed (issue 8 item 1).
func (m *Metrics) ObserveHTTP(route, method, code string, d time.Duration) {
	m.httpRequests.WithLabelValues(route, Method(method), statusCode(code)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
}

// Method maps a request method onto the fixed set of RFC 9110 methods;
// anything else is "other".
func Method(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return m
	}
	return "other"
}

// statusCode keeps a three-digit HTTP status code; anything else is "other".
func statusCode(c string) string {
	if len(c) == 3 && c[0] >= '1' && c[0] <= '5' && c[1] >= '0' && c[1] <= '9' && c[2] >= '0' && c[2] <= '9' {
		return c
	}
	return "other"
}

// Refresh records a token refresh outcome.
func (m *Metrics) Refresh(outcome string) { m.refreshes.WithLabelValues(outcome).Inc() }

// SignIn records a sign-in callback outcome.
func (m *Metrics) SignIn(outcome string) { m.signIns.WithLabelValues(outcome).Inc() }

// StreamOpened records a stream relay starting; call the returned func when it ends.
func (m *Metrics) StreamOpened(kind string) (done func()) {
	m.streamsTotal.WithLabelValues(kind).Inc()
	m.streamsOpen.Inc()
	return m.streamsOpen.Dec
}
