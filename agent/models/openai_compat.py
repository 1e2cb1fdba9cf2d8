class OpenAIModel: pass
