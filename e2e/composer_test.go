package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/coze2app/coze2app/internal/cozesim"
)

const (
	// jsChips is the composer's attachment chips by state: "ready,ready,error".
	jsChips = `[...document.querySelectorAll('#attachments .file-chip')].map(c => (c.className.match(/is-(\w+)/) || [])[1]).join(',')`
	// jsMakeFile defines file(name, type, size, fill): a File of size bytes starting
	// with fill (so the server's sniff sees the type its name says).
	jsMakeFile = `window.file = (name, type, size, fill) => { const b = new Uint8Array(size); b.set(new TextEncoder().encode(fill)); return new File([b], name, { type }); };`
	// jsDrag fires a drag event of type at the message list carrying files.
	jsDrag = `window.drag = (type, files) => { const dt = new DataTransfer(); for (const f of files) dt.items.add(f); document.querySelector('#messages').dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true })); };`
	// jsPNG resolves a 300×150 PNG File, red on the left half and blue on the right.
	jsPNG = `new Promise((ok) => { const c = document.createElement('canvas'); c.width = 300; c.height = 150; const g = c.getContext('2d');
		g.fillStyle = '#ff0000'; g.fillRect(0, 0, 150, 150); g.fillStyle = '#0000ff'; g.fillRect(150, 0, 150, 150);
		c.toBlob((b) => ok(new File([b], 'screenshot.png', { type: 'image/png' })), 'image/png'); })`
)

// The message box (issue 10 item 9): a pasted image is attached with a canvas
// thumbnail, a dropped PDF uploads through the same path, a refused type says why
// inline, a large file's progress moves through percentages to 100 (and a removed
// upload is aborted), Edit puts a sent message back and resending it gets a new
// answer, and Escape stops a streaming reply as Stop does. Screenshots light and dark.
func TestComposerPasteDropProgressEditEscape(t *testing.T) {
	b, _ := startSignedIn(t, nil, cozesim.UserAlan, cozesim.WorkspaceTeam)
	shots := artifactsDir(t)
	b.openBot(cozesim.BotAssistant)
	eval[chromedp.Void](b, jsMakeFile+jsDrag)

	b.step(t, "PasteImageThumbnail", func(t *testing.T) {
		eval[chromedp.Void](b, `(async () => { const dt = new DataTransfer(); dt.items.add(await `+jsPNG+`);
			document.querySelector('#composer').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true })); })()`)
		waitFor[bool](b, "pasted image uploaded", jsChips+` === 'ready'`, 10*time.Second)
		// The thumbnail is the centre square of the image: red left of the middle, blue right.
		px := waitFor[string](b, "thumbnail drawn", `(() => { const c = document.querySelector('#attachments .file-chip.has-thumb canvas.file-thumb'); if (!c) return '';
			const g = c.getContext('2d'); const l = g.getImageData(10, c.height / 2, 1, 1).data, r = g.getImageData(c.width - 10, c.height / 2, 1, 1).data;
			return l[3] === 255 ? [l[0], l[2], r[0], r[2]].join(',') : ''; })()`, 10*time.Second)
		if px != "255,0,0,255" {
			t.Errorf("thumbnail pixels (left r,b right r,b) = %s, want 255,0,0,255", px)
		}
		if v := eval[string](b, `document.querySelector('#composer').value`); v != "" {
			t.Errorf("a paste of files typed %q into the message", v)
		}
	})

	b.step(t, "DropPDFAndRefusedType", func(t *testing.T) {
		eval[chromedp.Void](b, `drag('dragenter', [file('report.pdf', 'application/pdf', 2048, '%PDF-1.4\n')])`)
		waitFor[bool](b, "drop zone shown", `!document.querySelector('.drop-zone').hidden`, 5*time.Second)
		b.screenshot(shots, "composer-dropzone-light.png")
		b.click("#theme-toggle")
		b.screenshot(shots, "composer-dropzone-dark.png")
		b.click("#theme-toggle")
		eval[chromedp.Void](b, `drag('drop', [file('report.pdf', 'application/pdf', 2048, '%PDF-1.4\n')])`)
		waitFor[bool](b, "drop zone gone", `document.querySelector('.drop-zone').hidden`, 5*time.Second)
		waitFor[bool](b, "dropped PDF uploaded", jsChips+` === 'ready,ready'`, 10*time.Second)
		size := eval[string](b, `[...document.querySelectorAll('#attachments .file-chip')].pop().querySelector('.file-meta').textContent`)
		if size != "2 KB" {
			t.Errorf("PDF chip size = %q, want 2 KB", size)
		}
		eval[chromedp.Void](b, `drag('drop', [file('notes.txt', 'text/plain', 20, 'notes')])`)
		reason := waitFor[string](b, "refusal inline", `(() => { const c = document.querySelector('#attachments .file-chip.is-error'); return c ? c.querySelector('.file-error').textContent : ''; })()`, 5*time.Second)
		if !strings.Contains(reason, ".txt") {
			t.Errorf("refusal = %q, want it to name .txt", reason)
		}
		b.screenshot(shots, "composer-attachments-light.png")
		b.click("#theme-toggle")
		b.screenshot(shots, "composer-attachments-dark.png")
		b.click("#theme-toggle")
		b.click("#attachments .file-chip.is-error .file-remove")
		waitFor[bool](b, "refused chip removed", jsChips+` === 'ready,ready'`, 5*time.Second)
	})

	b.step(t, "ProgressPercentAndCancel", func(t *testing.T) {
		// Loopback sends megabytes at once: throttle uploads (4 MB/s) so the bar has
		// steps to show. What is checked is the values it took, not how long.
		_, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{})
		b.must(err, "network domain")
		_, err = chromedp.Call(b.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{DownloadThroughput: -1, UploadThroughput: 4 << 20}},
		})
		b.must(err, "throttle uploads")
		eval[chromedp.Void](b, `window.seen = []; new MutationObserver((rs) => { for (const r of rs) window.seen.push(Number(r.target.getAttribute('aria-valuenow'))); })
			.observe(document.querySelector('#attachments'), { subtree: true, attributes: true, attributeFilter: ['aria-valuenow'] });
			drag('drop', [file('big.pdf', 'application/pdf', 6 << 20, '%PDF-1.4\n')])`)
		waitFor[bool](b, "big PDF uploaded", jsChips+` === 'ready,ready,ready'`, 60*time.Second)
		seen := eval[[]int](b, `window.seen`)
		var between int
		for _, v := range seen {
			if v > 0 && v < 100 {
				between++
			}
		}
		t.Logf("aria-valuenow values: %v", seen)
		if len(seen) == 0 || seen[len(seen)-1] != 100 || between == 0 {
			t.Errorf("aria-valuenow went through %v: want values between 0 and 100, ending at 100", seen)
		}

		// Removing an upload under way aborts it: no chip, nothing busy, Send usable.
		eval[chromedp.Void](b, `drag('drop', [file('cancel.pdf', 'application/pdf', 16 << 20, '%PDF-1.4\n')])`)
		waitFor[bool](b, "upload under way", `(() => { const p = document.querySelector('#attachments .file-chip.is-uploading .file-progress'); return !!p && Number(p.getAttribute('aria-valuenow')) > 0; })()`, 20*time.Second)
		b.screenshot(shots, "composer-progress-light.png")
		b.click("#theme-toggle")
		b.screenshot(shots, "composer-progress-dark.png")
		b.click("#theme-toggle")
		if eval[bool](b, `!document.querySelector('#send').disabled`) {
			t.Errorf("Send enabled while an upload runs")
		}
		b.click("#attachments .file-chip.is-uploading .file-remove")
		waitFor[bool](b, "canceled upload gone", jsChips+` === 'ready,ready,ready' && !document.querySelector('#send').disabled`, 5*time.Second)
		_, err = chromedp.Call(b.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: []*network.Conditions{}})
		b.must(err, "unthrottle")
	})

	b.step(t, "EditAndResend", func(t *testing.T) {
		b.send("What is in these files?")
		if st := waitFor[string](b, "first answer", jsReplyDone, 30*time.Second); st != "complete" {
			t.Fatalf("first reply = %q", st)
		}
		if n := eval[int](b, `document.querySelectorAll('.msg.user .msg-files .file-chip').length`); n != 3 {
			t.Errorf("files on the sent message = %d, want 3", n)
		}
		label := eval[string](b, `[...document.querySelectorAll('.msg.user')].pop().querySelector('.edit-msg').getAttribute('aria-label')`)
		if !strings.Contains(label, "new message") {
			t.Errorf("Edit's label %q does not say it is sent as a new message", label)
		}
		eval[chromedp.Void](b, `[...document.querySelectorAll('.msg.user')].pop().querySelector('.edit-msg').click()`)
		waitFor[bool](b, "composer refilled", `document.querySelector('#composer').value === 'What is in these files?' && `+jsChips+` === 'ready,ready,ready' && document.activeElement.id === 'composer'`, 5*time.Second)
		b.screenshot(shots, "composer-edit-light.png")
		b.click("#theme-toggle")
		b.screenshot(shots, "composer-edit-dark.png")
		b.click("#theme-toggle")
		b.send("What is in these three files, briefly?")
		waitFor[bool](b, "second turn", `document.querySelectorAll('.msg.user').length === 2`, 10*time.Second)
		if st := waitFor[string](b, "answer to the edited message", jsReplyDone, 30*time.Second); st != "complete" {
			t.Fatalf("reply to the edited message = %q", st)
		}
		got := eval[string](b, `[...document.querySelectorAll('.msg.user')].map(m => m.querySelector('.msg-body').textContent + ':' + m.querySelectorAll('.msg-files .file-chip').length).join('|')`)
		if want := "What is in these files?:3|What is in these three files, briefly?:3"; got != want {
			t.Errorf("sent messages = %q, want %q", got, want)
		}
		if n := eval[int](b, `document.querySelectorAll('.msg.assistant:not(.prologue)').length`); n != 2 {
			t.Errorf("answers = %d, want 2", n)
		}
	})

	b.step(t, "EscapeStopsReply", func(t *testing.T) {
		b.openBot(cozesim.BotSlow)
		b.send("Tell me a long story")
		waitFor[bool](b, "story started", jsReplyLen+` > 40`, 20*time.Second)
		// With a dialog open, Escape closes the dialog and the reply goes on.
		b.click("#edit-bot")
		waitFor[bool](b, "editor open", `!!document.querySelector('dialog[open]')`, 5*time.Second)
		b.do("escape closes the dialog", chromedp.KeyEvent("\x1b"))
		waitFor[bool](b, "editor closed", `!document.querySelector('dialog[open]')`, 5*time.Second)
		if st := eval[string](b, `(() => { const m = `+jsLastReply+`; return m.dataset.status; })()`); st != "streaming" {
			t.Fatalf("Escape that closed a dialog also ended the reply: %q", st)
		}
		b.do("escape", chromedp.KeyEvent("\x1b"))
		if st := waitFor[string](b, "stopped by Escape", jsReplyDone, 10*time.Second); st != "canceled" {
			t.Fatalf("status after Escape = %q, want canceled (as Stop)", st)
		}
		if v := eval[string](b, `document.querySelector('#stop').getAttribute('aria-keyshortcuts')`); v != "Escape" {
			t.Errorf("Stop's aria-keyshortcuts = %q, want Escape", v)
		}
	})

	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %s", fmt.Sprint(v))
	}
}
