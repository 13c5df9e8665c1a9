package e2e

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coze2app/coze2app/internal/cozesim"
)

// writeIcon writes a small PNG and returns its path.
func writeIcon(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for x := range 32 {
		for y := range 32 {
			img.Set(x, y, color.RGBA{R: uint8(x * 8), G: 90, B: uint8(y * 8), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "icon.png")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startSignedIn starts Chromium and a demo app (extra: its environment), signs
// in as the demo user (cozesim.User…) on the consent page and waits for the bot
// list of the given workspace.
func startSignedIn(t *testing.T, extra map[string]string, user, workspace string) (b *browser, base string) {
	b = mustStartBrowser(t)
	base = mustStartApp(t, extra)
	b.do("open /", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#signin")))
	b.click("#signin")
	b.do("consent", chromedp.WaitVisible(chromedp.CSS("#user_id")))
	b.setInput("#user_id", user)
	b.click("#approve")
	b.do("bot list", chromedp.WaitVisible(chromedp.CSS(".bot-item")))
	useWorkspace(b, workspace)
	return b, base
}

// useWorkspace picks a workspace and waits for its bot list.
func useWorkspace(b *browser, workspace string) {
	b.t.Helper()
	b.setInput("#workspace-select", workspace)
	waitFor[bool](b, "bots of "+workspace, `!document.querySelector('#bot-list .list-status') && !!document.querySelector('.bot-item')`, 10*time.Second)
}

// A builder creates a bot with an icon (previewed before saving), sees it as a
// draft that says it cannot be tried before publishing, publishes it and
// chats with it; screenshots light, dark and phone (issue 12).
func TestBotBuilder(t *testing.T) {
	b, _ := startSignedIn(t, nil, cozesim.UserAlan, cozesim.WorkspaceAlan)
	shots := artifactsDir(t)
	b.click("#new-bot")
	b.do("icon", chromedp.SetUploadFiles(chromedp.CSS("#bot-icon-input"), []string{writeIcon(t)}))
	waitFor[bool](b, "icon preview", `(() => { const c = document.querySelector('.bot-icon-preview canvas'); return !!c && c.getContext('2d').getImageData(56, 56, 1, 1).data[3] === 255; })()`, 10*time.Second)
	b.setInput("#bot-name", "Chef e2e")
	b.setInput("#bot-description", "Cooks one dish a day.")
	b.setInput("#bot-prompt", "You are a chef.")
	b.setInput("#bot-prologue", "Hungry? Ask me.")
	b.setInput("#bot-questions", "Soup?\nNoodles?")
	b.screenshot(shots, "bot-editor-light.png")
	b.click("#bot-save")
	waitFor[bool](b, "dialog closed", `!document.querySelector('#bot-dialog').open`, 10*time.Second)
	waitFor[bool](b, "new draft opened", `document.querySelector('#chat-bot-name').textContent === 'Chef e2e'`, 10*time.Second)
	id := eval[string](b, `document.querySelector('.bot-item.is-active').dataset.botId`)
	if !eval[bool](b, `!document.querySelector('#draft-note').hidden && !document.querySelector('.bot-tools .bot-state').hidden && !document.querySelector('#publish-bot').hidden`) {
		t.Errorf("a new draft shows no draft badge, draft notice or Publish button")
	}
	if !eval[bool](b, fmt.Sprintf(`!!document.querySelector('.bot-item[data-bot-id="%s"] img.avatar')`, id)) {
		t.Errorf("the new bot is listed without its uploaded icon")
	}
	if got := eval[string](b, `[...document.querySelectorAll('.msg.prologue')].map(m => m.textContent).join(' ')`); !bytes.Contains([]byte(got), []byte("Hungry? Ask me.")) {
		t.Errorf("prologue shown = %q, want the one just saved", got)
	}

	// Edit: the editor reads the draft back.
	b.click("#edit-bot")
	waitFor[bool](b, "draft loaded", `document.querySelector('#bot-prompt').value === 'You are a chef.'`, 10*time.Second)
	b.setInput("#bot-name", "Chef e2e 2")
	b.click("#bot-save")
	waitFor[bool](b, "renamed", `document.querySelector('#chat-bot-name').textContent === 'Chef e2e 2'`, 10*time.Second)

	b.click("#publish-bot")
	waitFor[bool](b, "published", `document.querySelector('#draft-note').hidden && document.querySelector('.bot-tools .bot-state').hidden`, 10*time.Second)
	waitFor[bool](b, "composer enabled", `!document.querySelector('#composer').disabled`, 10*time.Second)
	b.setInput("#composer", "What do we cook today?")
	b.click("#send")
	if st := waitFor[string](b, "reply", jsReplyDone, 30*time.Second); st != "complete" {
		t.Fatalf("reply from the published bot: status %q, want complete", st)
	}
	b.screenshot(shots, "bot-published-light.png")
	b.click("#theme-toggle")
	b.screenshot(shots, "bot-published-dark.png")
	b.click("#edit-bot")
	waitFor[bool](b, "draft loaded", `document.querySelector('#bot-name').value === 'Chef e2e 2'`, 10*time.Second)
	b.screenshot(shots, "bot-editor-dark.png")
	b.do("escape", chromedp.KeyEvent("\x1b"))
	b.click("#theme-toggle")
	b.viewport(390, 844)
	time.Sleep(300 * time.Millisecond) // layout settles
	phoneShot(t, b, shots, "bot-published-phone.png")
}

// phoneShot saves a screenshot on the 390 px phone viewport and checks the page
// has no horizontal scroll and met no CSP violation.
func phoneShot(t *testing.T, b *browser, dir, name string) {
	t.Helper()
	b.screenshot(dir, name)
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("page is %d px wide on a 390 px phone", w)
	}
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %v", v)
	}
}

// A member of a team workspace may create bots and edit the ones they created,
// but is offered neither Edit nor Publish on the owner's bots; the owner's
// draft says to ask its creator (Coze refuses members with 4101, issue 12).
func TestBotBuilderMemberRole(t *testing.T) {
	b, _ := startSignedIn(t, nil, cozesim.UserBea, cozesim.WorkspaceTeam)
	waitFor[bool](b, "New bot offered", `!document.querySelector('#new-bot').hidden`, 10*time.Second)
	for _, id := range []string{cozesim.BotAssistant, cozesim.BotDraft} {
		b.click(fmt.Sprintf(`.bot-item[data-bot-id="%s"]`, id))
		waitFor[bool](b, "header", `!document.querySelector('#chat-header').hidden`, 10*time.Second)
		if eval[bool](b, `!document.querySelector('#edit-bot').hidden || !document.querySelector('#publish-bot').hidden`) {
			t.Errorf("bot %s of the workspace owner offers Edit or Publish to a member", id)
		}
	}
	if note := eval[string](b, `document.querySelector('#draft-note').hidden ? '' : document.querySelector('#draft-note').textContent`); !strings.Contains(note, "creator") {
		t.Errorf("draft note for a member = %q, want it to say to ask the creator", note)
	}
	b.click("#new-bot")
	b.setInput("#bot-name", "Bea's bot")
	b.click("#bot-save")
	waitFor[bool](b, "own draft opened", `document.querySelector('#chat-bot-name').textContent === "Bea's bot"`, 10*time.Second)
	if !eval[bool](b, `!document.querySelector('#edit-bot').hidden && !document.querySelector('#publish-bot').hidden`) {
		t.Errorf("a member is not offered Edit and Publish on their own bot")
	}
}
