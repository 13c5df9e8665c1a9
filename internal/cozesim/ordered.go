package cozesim

import (
	"bytes"
	"encoding/json"
	"sort"
)

// field is one member of an ordered JSON object.
type field struct {
	K string
	V any
}

// ordered is a JSON object that keeps its key order, so bodies read like the
// captures ("id" first). Values are encoded without HTML escaping.
type ordered []field

// MarshalJSON writes the members in order.
func (o ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.K)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(compactJSON(f.V))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// with returns o with k set to v (replaced in place, or appended).
func (o ordered) with(k string, v any) ordered {
	for i := range o {
		if o[i].K == k {
			out := append(ordered(nil), o...)
			out[i].V = v
			return out
		}
	}
	return append(append(ordered(nil), o...), field{k, v})
}

// without returns o without k.
func (o ordered) without(k string) ordered {
	out := make(ordered, 0, len(o))
	for _, f := range o {
		if f.K != k {
			out = append(out, f)
		}
	}
	return out
}

// envelope builds {code, msg, <fields sorted>, detail}.
func envelope(code int, msg string, fields map[string]any, logID string) ordered {
	o := ordered{{"code", code}, {"msg", msg}}
	if d, has := fields["data"]; has {
		o = append(o, field{"data", d})
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "data" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		o = append(o, field{k, fields[k]})
	}
	if logID != "" {
		o = append(o, field{"detail", detail{logID}})
	}
	return o
}
