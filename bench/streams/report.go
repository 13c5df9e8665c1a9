package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

func printTable(w io.Writer, res *results) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tstreams\tRSS MiB\tKiB/stream\theap KiB/str\tstack KiB/str\tgoroutines\tgor/stream\tfds\tdropped\t")
	row := func(s sample) {
		ps := s.PerStream
		if ps == nil {
			ps = &perStream{}
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\t%.2f\t%d\t%d\t\n", s.Label, s.Streams, float64(s.Proc.RSSKiB)/1024,
			ps.RSSKiB, ps.HeapInuseKiB, ps.StackInuseKiB, s.Goroutines, ps.Goroutines, s.Proc.FDs, s.Dropped)
	}
	row(res.Baseline)
	for _, s := range res.Steps {
		row(s)
	}
	row(res.ClientsGone)
	row(res.Stopped)
	row(res.IdleClosed)
	tw.Flush()
	fmt.Fprintf(w, "max streams held: %d", res.MaxHeld)
	if res.ProbeStopped != "" {
		fmt.Fprintf(w, " (%s)", res.ProbeStopped)
	}
	fmt.Fprintf(w, "\nafter streams closed, replies stopped and idle upstream connections closed, vs baseline: goroutines %+.0f, fds %+d, RSS %+d KiB\n",
		res.Leak.Goroutines, res.Leak.FDs, res.Leak.RSSKiB)
}
