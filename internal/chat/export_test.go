package chat

// RelayHoldsLease reports whether a browser relay, not the run's reader goroutine,
// reads the run's upstream now (lease.go).
func RelayHoldsLease(r *Run) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lessee != nil
}
