// The Node clients against Optera, unchanged but for base URL, key and the provider-key header.
// Run by tests/clients/test_node_clients.py: `node node_clients.mjs <scenario>` prints one JSON
// object of what the client saw; the Python test asserts on it.
import OpenAI from "openai";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText, tool, jsonSchema } from "ai";

const baseURL = process.env.OPTERA_BASE_URL;
const apiKey = process.env.OPTERA_API_KEY;
const headers = { "X-Provider-Key": process.env.OPTERA_PROVIDER_KEY };
const openai = new OpenAI({ baseURL, apiKey, defaultHeaders: headers, maxRetries: 0 });
const provider = createOpenAI({ baseURL, apiKey, headers });
const question = process.env.OPTERA_QUESTION || "What is the capital of France?";

const weather = {
  type: "object",
  properties: { city: { type: "string" }, days: { type: "integer", minimum: 1 } },
  required: ["city", "days"],
  additionalProperties: false,
};

const scenarios = {
  async "openai-chat"() {
    const { data, response } = await openai.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: question }] })
      .withResponse();
    return { text: data.choices[0].message.content, usage: data.usage, cache: response.headers.get("x-optera-cache") };
  },
  async "openai-claude"() {
    const data = await openai.chat.completions.create({
      model: "claude-haiku-4-5",
      messages: [{ role: "user", content: question }],
    });
    return { text: data.choices[0].message.content, model: data.model };
  },
  async "openai-stream"() {
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: question }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    return { text, usage };
  },
  async "openai-tools"() {
    const tools = [{ type: "function", function: { name: "weather", parameters: weather } }];
    const data = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Weather in Paris? Use the tool." }],
      tools,
      tool_choice: "required",
    });
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Weather in Paris? Use the tool." }],
      tools,
      tool_choice: "required",
      stream: true,
    });
    let streamedArguments = "";
    for await (const chunk of stream) {
      streamedArguments += chunk.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? "";
    }
    const call = data.choices[0].message.tool_calls[0];
    return { name: call.function.name, arguments: JSON.parse(call.function.arguments), streamedArguments };
  },
  async "openai-responses"() {
    const { data, response } = await openai.responses
      .create({ model: "gpt-4o-mini", input: question })
      .withResponse();
    return { text: data.output_text, usage: data.usage, cache: response.headers.get("x-optera-cache") };
  },
  async "openai-error"() {
    try {
      await openai.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] });
      return { error: null };
    } catch (error) {
      return { isApiError: error instanceof OpenAI.APIError, status: error.status, type: error.type };
    }
  },
  // The AI SDK's default model call goes to the Responses API (since AI SDK 5).
  async "ai-generate"() {
    const result = await generateText({ model: provider("gpt-4o-mini"), prompt: question });
    return { text: result.text, usage: result.usage, cache: result.response.headers?.["x-optera-cache"] ?? null };
  },
  async "ai-generate-chat"() {
    const result = await generateText({ model: provider.chat("gpt-4o-mini"), prompt: question });
    return { text: result.text, usage: result.usage, cache: result.response.headers?.["x-optera-cache"] ?? null };
  },
  async "ai-stream"() {
    const result = streamText({ model: provider("gpt-4o-mini"), prompt: question });
    let text = "";
    for await (const part of result.textStream) text += part;
    return { text, usage: await result.usage };
  },
  async "ai-stream-chat"() {
    const result = streamText({ model: provider.chat("gpt-4o-mini"), prompt: question });
    let text = "";
    for await (const part of result.textStream) text += part;
    return { text, usage: await result.usage };
  },
  async "ai-tools"() {
    const result = await generateText({
      model: provider("gpt-4o-mini"),
      prompt: "Weather in Paris? Use the tool.",
      tools: { weather: tool({ description: "the weather", inputSchema: jsonSchema(weather) }) },
      toolChoice: "required",
    });
    const call = result.toolCalls[0];
    return { name: call.toolName, arguments: call.input };
  },
};

const name = process.argv[2];
if (!(name in scenarios)) {
  console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
console.log(JSON.stringify(await scenarios[name]()));
