// Package benchkit holds what the coze2app benchmark programs share: starting
// the app, the simulator and nginx as child processes on loopback, signing in
// through the simulator's consent page, reading SSE, sampling /proc and
// /metrics, summarising latencies and writing results as JSON.
//
// Nothing here asserts on time; the programs only measure and report.
package benchkit
