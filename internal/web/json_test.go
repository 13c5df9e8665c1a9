package web

import "testing"

func TestDepthCountsBracketsOutsideStrings(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"flat object", `{"a":1}`, 1},
		{"nested", `{"a":[{"b":[1]}]}`, 4},
		{"brackets inside a string", `{"a":"[[{{"}`, 1},
		{"escaped quote inside a string", `{"a":"\"[[","b":[1]}`, 2},
		{"escaped backslash before the closing quote", `{"a":"\\","b":[[1]]}`, 3},
		{"unterminated string hides the rest", `{"a":"[[[`, 1},
		{"closing before opening counts below zero", `}}[`, 0},
		{"empty", ``, 0},
	} {
		if got := depth([]byte(tc.body)); got != tc.want {
			t.Errorf("%s: depth(%s) = %d, want %d", tc.name, tc.body, got, tc.want)
		}
	}
}
