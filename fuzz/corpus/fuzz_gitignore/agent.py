# SPDX-License-Identifier: MIT
"""Positive sample: every Python detector fires in this file."""
import mlflow
import tiktoken
from functools import lru_cache
from langchain.memory import ConversationBufferWindowMemory
from langchain_core.messages import trim_messages
from langchain_core.tools import tool

ENC = tiktoken.encoding_for_model("gpt-4o")
CONTEXT_WINDOW = 8192
memory = ConversationBufferWindowMemory(k=5)


@mlflow.trace(name="plan_step", span_type="CHAIN")
def plan(question):
    mlflow.update_current_trace(session_id=SESSION, metadata={"team": "a"})
    return question


@mlflow.trace
def answer(messages):
    recent = messages[-10:]
    recent = trim_messages(recent, max_tokens=2000, token_counter=len)
    with mlflow.start_span(name="retrieve_docs") as span:
        span.set_attribute("session.id", SESSION)
    return call_model(recent, max_tokens=512)


@tool
def lookup_order(order_id: str) -> dict:
    return {"id": order_id}


TOOLS = {"lookup_order": lookup_order}


class Chat:
    def __init__(self):
        self.history = []

    def reset(self):
        self.history = []

    def remember(self, store, docs):
        store.add_documents(docs)
        config = {"configurable": {"thread_id": "t-1"}}
        return config


@lru_cache(maxsize=128)
def cached(x):
    return x


def set_ids(sid):
    mlflow.update_current_trace(metadata={"mlflow.trace.session": sid})
    with mlflow.tracing.context(session_id=sid):
        pass
