package config

import (
	"strings"
	"testing"
	"time"
)

// COZE2APP_WORKFLOW_IDLE bounds a workflow stream's silence (coze-protocol E13).
func TestLoadWorkflowIdle(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     string
		want    time.Duration
		wantErr bool
	}{
		{"default", nil, "", 5 * time.Minute, false},
		{"env", nil, "90s", 90 * time.Second, false},
		{"flag over env", []string{"--workflow-idle", "10m"}, "90s", 10 * time.Minute, false},
		{"not a duration", nil, "five minutes", 0, true},
		{"zero", nil, "0", 0, true},
		{"negative", nil, "-1m", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.args, envOf(map[string]string{"COZE2APP_WORKFLOW_IDLE": tt.env}))
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "COZE2APP_WORKFLOW_IDLE") {
					t.Errorf("err = %v, want one naming COZE2APP_WORKFLOW_IDLE", err)
				}
				return
			}
			if err != nil || c.WorkflowIdle != tt.want {
				t.Errorf("WorkflowIdle = %s, %v; want %s", c.WorkflowIdle, err, tt.want)
			}
		})
	}
}
