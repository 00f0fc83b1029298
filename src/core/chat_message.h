// One chat turn, shared by datasets (dataset/chat.h), the LLM client (llm/llm_client.h) and later
// chat templates and serving. Plain data only.
#pragma once

#include <string>

namespace smelt {

struct chat_message {
  std::string role;  // system | user | assistant
  std::string content;
};

}  // namespace smelt
