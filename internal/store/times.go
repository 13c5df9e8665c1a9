package store

import "time"

// ms converts a time to the stored form: Unix milliseconds, 0 for the zero time.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS is the inverse of ms; results are in UTC.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// orNow returns t, or the current time if t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// nn turns a nil byte slice into an empty one: pgx sends nil as NULL, which a
// NOT NULL column rejects.
func nn(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nullable turns an empty byte slice into SQL NULL.
func nullable(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
