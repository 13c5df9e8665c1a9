package benchkit

import (
	"math"
	"slices"
)

// Summary describes a sample of durations in milliseconds.
type Summary struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
}

// Summarize sorts ms in place and returns its summary (nearest-rank percentiles).
func Summarize(ms []float64) Summary {
	if len(ms) == 0 {
		return Summary{}
	}
	slices.Sort(ms)
	var sum float64
	for _, v := range ms {
		sum += v
	}
	return Summary{
		N: len(ms), Mean: round3(sum / float64(len(ms))),
		P50: round3(Percentile(ms, 50)), P90: round3(Percentile(ms, 90)),
		P99: round3(Percentile(ms, 99)), Max: round3(ms[len(ms)-1]),
	}
}

// Percentile is the nearest-rank p-th percentile of sorted.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// Round3 rounds to three decimals (microseconds when the unit is ms).
func Round3(v float64) float64 { return round3(v) }
