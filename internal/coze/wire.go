package coze

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// flexInt decodes a JSON number or a numeric string (coze-protocol §1.4, §19 Q10); null and ""
// decode to 0. Fractions are truncated.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*f = 0
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
		if len(b) == 0 {
			*f = 0
			return nil
		}
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*f = flexInt(n)
		return nil
	}
	x, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("coze: not a number: %.40q", b)
	}
	*f = flexInt(int64(x))
	return nil
}

// flexString decodes a JSON string, or a number / bool kept as its literal text (IDs and
// codes that a server might send unquoted); null decodes to "".
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case b[0] == '{' || b[0] == '[':
		return fmt.Errorf("coze: expected a string, got %.20q", b)
	default:
		*f = flexString(b)
	}
	return nil
}

// strMap decodes meta_data maps; non-string values are kept as their JSON text so that one
// odd value does not fail a whole listing.
type strMap map[string]string

func (m *strMap) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		*m = nil
		return nil
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
		} else {
			out[k] = string(v)
		}
	}
	*m = out
	return nil
}

// decodeLoose decodes a JSON object into the struct v points to, field by json tag (matched
// like encoding/json, exact name first, then case-insensitively): string fields are read as
// flexString, integer fields as flexInt and map[string]string fields as strMap, so that a
// server's number/string drift (coze-protocol §1.4) fails no decode; other fields decode as
// usual. It is the one UnmarshalJSON of wire types that need nothing more.
func decodeLoose(b []byte, v any) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	rv := reflect.ValueOf(v).Elem()
	rv.SetZero()
	for i := range rv.NumField() {
		name, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
		m, ok := raw[name]
		for k, x := range raw {
			if !ok && strings.EqualFold(k, name) {
				m, ok = x, true
			}
		}
		if !ok {
			continue
		}
		if err := decodeLooseField(m, rv.Field(i)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func decodeLooseField(m json.RawMessage, f reflect.Value) error {
	switch {
	case f.Kind() == reflect.String:
		var s flexString
		err := json.Unmarshal(m, &s)
		f.SetString(string(s))
		return err
	case f.CanInt():
		var n flexInt
		err := json.Unmarshal(m, &n)
		f.SetInt(int64(n))
		return err
	case f.Type() == reflect.TypeFor[map[string]string]():
		var sm strMap
		err := json.Unmarshal(m, &sm)
		f.Set(reflect.ValueOf(map[string]string(sm)))
		return err
	}
	return json.Unmarshal(m, f.Addr().Interface())
}

// Usage is token accounting of a chat or workflow run (coze-protocol §15.6, §19 Q11).
type Usage struct {
	TokenCount  int `json:"token_count"`
	OutputCount int `json:"output_count"`
	InputCount  int `json:"input_count"`
}

// UnmarshalJSON reads token_count/output_count/input_count and also the output_tokens /
// input_tokens spelling of one docs example (§19 Q11).
func (u *Usage) UnmarshalJSON(b []byte) error {
	var w struct {
		TokenCount   *flexInt `json:"token_count"`
		OutputCount  *flexInt `json:"output_count"`
		InputCount   *flexInt `json:"input_count"`
		OutputTokens *flexInt `json:"output_tokens"`
		InputTokens  *flexInt `json:"input_tokens"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	pick := func(a, b *flexInt) int {
		if a != nil {
			return int(*a)
		}
		if b != nil {
			return int(*b)
		}
		return 0
	}
	u.OutputCount = pick(w.OutputCount, w.OutputTokens)
	u.InputCount = pick(w.InputCount, w.InputTokens)
	if w.TokenCount != nil {
		u.TokenCount = int(*w.TokenCount)
	} else {
		u.TokenCount = u.InputCount + u.OutputCount
	}
	return nil
}

// envelope is the standard OpenAPI response (coze-protocol §2).
type envelope struct {
	Code   *flexInt        `json:"code"`
	Msg    string          `json:"msg"`
	Data   json.RawMessage `json:"data"`
	Detail struct {
		LogID string `json:"logid"`
	} `json:"detail"`
}

// hasData reports a present, non-null data member.
func hasData(d json.RawMessage) bool {
	return len(d) > 0 && string(d) != "null"
}
