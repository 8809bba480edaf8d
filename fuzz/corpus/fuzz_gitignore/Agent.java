// SPDX-License-Identifier: MIT
// Positive sample: every Java detector fires in this file.
package com.acme;

import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.memory.chat.MessageWindowChatMemory;
import io.opentelemetry.api.trace.Span;
import java.util.List;

public class Agent {
    private final MessageWindowChatMemory memory = MessageWindowChatMemory.withMaxMessages(10);

    public String handle(String sessionId, List<String> history) {
        Span span = tracer.spanBuilder("plan_step").startSpan();
        span.setAttribute("session.id", sessionId);
        List<String> recent = history.subList(Math.max(0, history.size() - 10), history.size());
        return model.generate(recent, ChatRequestParameters.builder().maxTokens(512).build());
    }

    @Tool("Look up an order")
    public String lookupOrder(String orderId) {
        return orderId;
    }
}
