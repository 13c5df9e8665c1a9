package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// Issue 10 item 10: guidance where the page would leave one waiting or stuck.

// holdRequests pauses the page's requests matching urlPattern until release
// is called, so a test sees what the page shows while a list loads without
// any timing. held returns once one such request is paused.
func holdRequests(b *browser, urlPattern string) (held func(), release func()) {
	b.t.Helper()
	paused := make(chan fetch.RequestID, 16)
	ctx, stop := context.WithCancel(b.ctx)
	events := chromedp.Events(ctx, fetch.RequestPaused)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			paused <- ev.RequestID
		}
	}()
	if _, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: urlPattern}}}); err != nil {
		b.t.Fatalf("hold %s: %v", urlPattern, err)
	}
	var ids []fetch.RequestID
	held = func() {
		b.t.Helper()
		select {
		case id := <-paused:
			ids = append(ids, id)
		case <-time.After(15 * time.Second):
			b.t.Fatalf("no request matching %s was made", urlPattern)
		}
	}
	release = func() {
		b.t.Helper()
		for len(paused) > 0 {
			ids = append(ids, <-paused)
		}
		for _, id := range ids {
			if _, err := chromedp.Call(b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: id}); err != nil {
				b.t.Fatalf("release %s: %v", urlPattern, err)
			}
		}
		if _, err := chromedp.Call(b.ctx, fetch.Disable, cdp.Empty{}); err != nil {
			b.t.Fatalf("release %s: %v", urlPattern, err)
		}
		stop()
	}
	return held, release
}

// jsSkeleton says whether list sel shows placeholder rows, is marked busy and
// tells screen readers what loads (and shows no "Loading…" text).
func jsSkeleton(sel string) string {
	return fmt.Sprintf(`(() => { const l = document.querySelector(%q); return l.getAttribute('aria-busy') === 'true'
		&& l.querySelectorAll('.skeleton-row').length > 0 && !!l.querySelector('.visually-hidden[role=status]')
		&& !l.querySelector('.list-status'); })()`, sel)
}

// A workspace with no workflows (Alan's own) names the team workspace, which
// has some, and its button switches to it; screenshots light and dark.
func TestGuidanceEmptyWorkspaceSuggestsOneWithWorkflows(t *testing.T) {
	b, _ := startSignedIn(t, nil, cozesim.UserAlan, cozesim.WorkspaceAlan)
	shots := artifactsDir(t)
	b.click(`.seg-btn[data-tab="workflows"]`)
	waitFor[bool](b, "suggestion", `!!document.querySelector('#workflow-list .wf-suggest-switch')`, 15*time.Second)
	got := eval[string](b, `document.querySelector('#workflow-list').innerText`)
	want := "No published workflows in this workspace.\nPublished workflows in “coze2app 演示团队 / Demo Team”: 5.\nSwitch to coze2app 演示团队 / Demo Team"
	if got != want {
		t.Errorf("empty workflow list:\n got %q\nwant %q", got, want)
	}
	shotBothThemes(b, shots, "guidance-workflow-suggestion")
	b.click("#workflow-list .wf-suggest-switch")
	waitFor[bool](b, "team workflows", `!!document.querySelector('#workflow-list .workflow-item')`, 15*time.Second)
	if ws := eval[string](b, `document.querySelector('#workspace-select').value`); ws != cozesim.WorkspaceTeam {
		t.Errorf("workspace after switching = %s, want the team's %s", ws, cozesim.WorkspaceTeam)
	}
	if n := eval[int](b, `document.querySelectorAll('#workflow-list .wf-suggest').length`); n != 0 {
		t.Errorf("a workspace with workflows still shows %d suggestions", n)
	}
}

// A draft bot carries a "Draft" badge, part of its button's accessible name;
// a published one carries none; screenshots light and dark.
func TestGuidanceDraftBadge(t *testing.T) {
	b, _ := startSignedIn(t, nil, cozesim.UserAlan, cozesim.WorkspaceTeam)
	shots := artifactsDir(t)
	badge := func(id string) string {
		return eval[string](b, fmt.Sprintf(`(() => { const el = document.querySelector('.bot-item[data-bot-id="%s"] .draft-badge');
			return el && el.getClientRects().length ? el.textContent : ''; })()`, id))
	}
	if got := badge(cozesim.BotDraft); got != "Draft" {
		t.Errorf("draft bot badge = %q, want Draft", got)
	}
	if got := badge(cozesim.BotAssistant); got != "" {
		t.Errorf("published bot has a badge %q", got)
	}
	name := eval[string](b, fmt.Sprintf(`document.querySelector('.bot-item[data-bot-id="%s"]').innerText`, cozesim.BotDraft))
	if want := "草稿机器人 / Draft Bot"; len(name) < len(want) || name[:len(want)] != want || name[len(name)-len("Draft"):] != "Draft" {
		t.Errorf("draft bot's accessible text = %q, want its name … Draft", name)
	}
	b.do("scroll to the draft", chromedp.ScrollIntoView(chromedp.CSS(`.bot-item[data-bot-id="`+cozesim.BotDraft+`"]`)))
	shotBothThemes(b, shots, "guidance-draft-badge")
}

// While the bot and workflow lists load they show busy placeholder rows, not
// "Loading…"; the rows give way to the list once it arrives. Screenshots of
// the skeleton light and dark.
func TestGuidanceSkeletonWhileListsLoad(t *testing.T) {
	b, _ := startSignedIn(t, nil, cozesim.UserAlan, cozesim.WorkspaceAlan)
	shots := artifactsDir(t)

	held, release := holdRequests(b, "*/api/bots?*")
	b.setInput("#workspace-select", cozesim.WorkspaceTeam)
	held()
	if !eval[bool](b, jsSkeleton("#bot-list")) {
		t.Errorf("bot list while loading: %s", eval[string](b, `document.querySelector('#bot-list').outerHTML`))
	}
	shotBothThemes(b, shots, "guidance-skeleton-bots")
	release()
	waitFor[bool](b, "bots replace the skeleton", `!!document.querySelector('#bot-list .bot-item') && !document.querySelector('#bot-list .skeleton-row') && !document.querySelector('#bot-list').hasAttribute('aria-busy')`, 15*time.Second)

	held, release = holdRequests(b, "*/api/workflows?*")
	b.click(`.seg-btn[data-tab="workflows"]`)
	held()
	if !eval[bool](b, jsSkeleton("#workflow-list")) {
		t.Errorf("workflow list while loading: %s", eval[string](b, `document.querySelector('#workflow-list').outerHTML`))
	}
	release()
	waitFor[bool](b, "workflows replace the skeleton", `!!document.querySelector('#workflow-list .workflow-item') && !document.querySelector('#workflow-list .skeleton-row') && !document.querySelector('#workflow-list').hasAttribute('aria-busy')`, 15*time.Second)
}
