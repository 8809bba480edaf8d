// SPDX-License-Identifier: MIT
// Positive sample: every Go detector fires in this file.
package agent

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
)

var tools = []Tool{{Name: "lookup_order", Description: "Look up an order"}}

func Handle(ctx context.Context, sessionID string, msgs []Message) error {
	ctx, span := tracer.Start(ctx, "plan_step")
	defer span.End()
	span.SetAttributes(attribute.String("session.id", sessionID))
	recent := msgs[len(msgs)-10:]
	_, err := client.Chat(ctx, Request{Messages: recent, MaxTokens: 512})
	return err
}
