package web

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestFilePickerOffersExactlyTheAcceptedFormats keeps the page's file picker in step with
// the formats the upload handler (and Coze, coze-protocol §12) accepts: offering a format
// that is then refused, or hiding one that works, are both bugs a user would meet.
func TestFilePickerOffersExactlyTheAcceptedFormats(t *testing.T) {
	page, err := staticFS.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`id="file-input"[^>]*accept="([^"]*)"`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no accept attribute on #file-input")
	}
	offered := strings.Split(string(m[1]), ",")
	slices.Sort(offered)
	var accepted []string
	for ext := range uploadTypes {
		accepted = append(accepted, ext)
	}
	slices.Sort(accepted)
	if !slices.Equal(offered, accepted) {
		t.Errorf("picker offers %v\nhandler accepts %v", offered, accepted)
	}
}
