package cozesim

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"
)

// idBase is the first generated id; demo data uses ids below it, so generated
// ids always sort after (and by creation order among) each other. All ids are
// 19-digit decimal strings (coze-protocol §1.4).
const idBase = 7_450_000_000_000_000_000

// newIDLocked returns the next 19-digit id. Ids increase with creation order,
// which the message list relies on for cursors. s.mu must be held.
func (s *Sim) newIDLocked() string {
	s.seq += 1 + s.seq%7 // uneven steps look less like a counter
	return fmt.Sprintf("%019d", uint64(idBase)+s.seq)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n characters of [A-Za-z0-9] from crypto/rand.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

// newLogID returns an X-Tt-Logid: 14-digit datetime, 3-digit ms and 17
// upper-case hex characters, 34 in all (coze-protocol §1.3).
func newLogID(now time.Time) string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	hex := strings.ToUpper(fmt.Sprintf("%x", b))[:17]
	return now.Format("20060102150405") + fmt.Sprintf("%03d", now.Nanosecond()/1e6) + hex
}
