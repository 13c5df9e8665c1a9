package coze

import "testing"

func TestRedactCredentials(t *testing.T) {
	tests := []struct{ in, want string }{
		{"token czu_UEE2mJn66h0fMHxLCVv9uQ7 is invalid", "token [redacted] is invalid"},
		{"bot 7379462189365198898 not published", "bot 7379462189365198898 not published"},
		{"rt LBEP9iWU7rn60PWa58GER5rr6vygb5WSACu2vASlCQu7 used", "rt [redacted] used"},
	}
	for _, tt := range tests {
		if got := RedactCredentials(tt.in); got != tt.want {
			t.Errorf("RedactCredentials(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := string(RedactCredentialsBytes([]byte(tt.in))); got != tt.want {
			t.Errorf("RedactCredentialsBytes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
