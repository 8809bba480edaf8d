// SPDX-License-Identifier: MIT
// Positive sample: every TypeScript detector fires in this file.
import { trace } from "@opentelemetry/api";
import { DynamicTool } from "@langchain/core/tools";
import { trimMessages } from "@langchain/core/messages";
import * as mlflow from "mlflow-tracing";

const tracer = trace.getTracer("agent");
const sessionStore = new Map<string, string[]>();

export function handle(sessionId: string, messages: string[]) {
  return tracer.startActiveSpan("plan_step", (span) => {
    span.setAttribute("session.id", sessionId);
    span.setAttribute("gen_ai.conversation.id", sessionId);
    const recent = messages.slice(-10);
    mlflow.updateCurrentTrace({ metadata: { "mlflow.trace.session": sessionId } });
    return callModel(trimMessages(recent), { maxTokens: 512 });
  });
}

export const lookupOrder = new DynamicTool({
  name: "lookup_order",
  description: "Look up an order",
  func: async (id: string) => id,
});

async function remember(vectorStore: any, docs: any[]) {
  await vectorStore.addDocuments(docs);
}
