package benchkit

import "strings"

// MultiFlag is a repeatable string flag (flag.Var), e.g. -app-env KEY=VALUE.
type MultiFlag []string

func (m *MultiFlag) String() string     { return strings.Join(*m, " ") }
func (m *MultiFlag) Set(v string) error { *m = append(*m, v); return nil }
