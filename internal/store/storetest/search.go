package storetest

import (
	"testing"
	"time"

	"github.com/coze2app/coze2app/internal/store"
	"github.com/google/go-cmp/cmp"
)

func testSearch(t *testing.T, newTarget NewTarget) {
	s := MustOpen(t, newTarget(t))
	ctx := t.Context()
	u, other := MustUser(t, s, "Alan"), MustUser(t, s, "Bea")

	convs := []struct {
		c    store.Conversation
		msgs []string
	}{
		{store.Conversation{ID: "c-weather", BotID: "bot-a", Title: "Weather in Paris"}, []string{"Is it raining?", "Yes, bring an Umbrella."}},
		{store.Conversation{ID: "c-cjk", BotID: "bot-a", Title: "中文对话"}, []string{"今天天气怎么样？", "今天北京天气晴朗。"}},
		{store.Conversation{ID: "c-percent", BotID: "bot-b", Title: "Discount"}, []string{"50% off", "a_b literal", `back\slash`}},
		{store.Conversation{ID: "c-plain", BotID: "bot-b", Title: "Plain"}, []string{"50 percent off", "axb"}},
	}
	for i, cv := range convs {
		cv.c.UserID, cv.c.CreatedAt, cv.c.UpdatedAt = u.ID, at(time.Duration(i)*time.Minute), at(time.Duration(i)*time.Minute)
		mustNoErr(t, "UpsertConversation", s.UpsertConversation(ctx, cv.c))
		for _, m := range cv.msgs {
			_, err := s.AddMessage(ctx, store.Message{ConversationID: cv.c.ID, UserID: u.ID, Role: store.RoleUser, Content: m})
			mustNoErr(t, "AddMessage", err)
		}
	}
	// Another user's matching history must never show up.
	mustNoErr(t, "UpsertConversation other", s.UpsertConversation(ctx, store.Conversation{ID: "c-other", UserID: other.ID, Title: "Weather 天气 50% a_b"}))

	tests := []struct {
		name, q, botID string
		want           []string
	}{
		{"title, case-insensitive", "paris", "", []string{"c-weather"}},
		{"title, upper query", "WEATHER", "", []string{"c-weather"}},
		{"message content, case-insensitive", "umbrella", "", []string{"c-weather"}},
		{"CJK in message", "天气", "", []string{"c-cjk"}},
		{"CJK in title", "中文", "", []string{"c-cjk"}},
		{"CJK full-width punctuation", "怎么样？", "", []string{"c-cjk"}},
		{"percent is literal", "50%", "", []string{"c-percent"}},
		{"lone percent", "%", "", []string{"c-percent"}},
		{"underscore is literal", "a_b", "", []string{"c-percent"}},
		{"backslash is literal", `k\s`, "", []string{"c-percent"}},
		{"with bot filter", "50", "bot-b", []string{"c-plain", "c-percent"}},
		{"bot filter excludes", "天气", "bot-b", nil},
		{"no match", "zebra", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := s.ListConversations(ctx, u.ID, tt.botID, tt.q, 0)
			mustNoErr(t, "ListConversations", err)
			var got []string
			for _, c := range list {
				got = append(got, c.ID)
			}
			if !cmp.Equal(got, tt.want) {
				t.Errorf("ListConversations(q=%q, bot=%q) = %v, want %v", tt.q, tt.botID, got, tt.want)
			}
		})
	}
}
