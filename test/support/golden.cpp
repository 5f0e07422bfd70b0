// asynchat: test support: the golden traces recorded from CPython's asynchat
// SPDX-License-Identifier: BSL-1.0
#include "support/golden.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace asynchat::test {

namespace {

std::string unhex(std::string const& text)
{
    if (text == "-")
        return {};
    if (text.size() % 2 != 0)
        throw std::runtime_error("odd-length hex: " + text);
    std::string out;
    for (std::size_t i = 0; i < text.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(text.substr(i, 2), nullptr, 16)));
    return out;
}

terminator parse_term(std::string const& text)
{
    if (text == "none")
        return std::monostate{};
    if (text.rfind("s:", 0) == 0)
        return unhex(text.substr(2));
    if (text.rfind("n:", 0) == 0)
        return static_cast<std::size_t>(std::stoull(text.substr(2)));
    throw std::runtime_error("bad terminator: " + text);
}

} // namespace

std::string hex(std::string_view bytes)
{
    if (bytes.empty())
        return "-";
    static char const digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes)
    {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}

std::string term_repr(terminator const& t)
{
    if (std::holds_alternative<std::monostate>(t))
        return "none";
    if (auto const* s = std::get_if<std::string>(&t))
        return "s:" + hex(*s);
    return "n:" + std::to_string(std::get<std::size_t>(t));
}

std::vector<std::string> normalise(std::vector<std::string> const& events)
{
    std::vector<std::string> out;
    for (auto const& e : events)
    {
        if (e[0] == 'C' && !out.empty() && out.back()[0] == 'C')
            out.back() += e.substr(2);
        else
            out.push_back(e);
    }
    return out;
}

std::vector<golden_scenario> load_golden(std::string const& path)
{
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("cannot open " + path);
    std::vector<golden_scenario> out;
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(in, line))
    {
        ++line_no;
        if (line.empty() || line[0] == '#')
            continue;
        std::istringstream words(line);
        std::string key;
        words >> key;
        try
        {
            if (key == "scenario")
            {
                out.emplace_back();
                words >> out.back().name;
                continue;
            }
            if (out.empty())
                throw std::runtime_error("data before the first scenario");
            golden_scenario& s = out.back();
            std::string word;
            if (key == "stream")
            {
                words >> word;
                s.stream = unhex(word);
            }
            else if (key == "chunks")
            {
                while (words >> word)
                    s.chunks.push_back(std::stoull(word));
            }
            else if (key == "buffer")
            {
                words >> s.buffer_size;
            }
            else if (key == "initial")
            {
                words >> word;
                s.initial = parse_term(word);
            }
            else if (key == "changes")
            {
                while (words >> word)
                    s.changes.push_back(
                        word == "keep" ? std::nullopt : std::optional<terminator>(parse_term(word))
                    );
            }
            else if (key == "C" || key == "T")
            {
                words >> word;
                // Re-encode a T's terminator so that both sides print it the same way.
                s.events.push_back(key + " " + (key == "C" ? word : term_repr(parse_term(word))));
            }
            else if (key == "end")
            {
                words >> word;
                s.final_terminator = parse_term(word);
                words >> word;
                s.final_pending = unhex(word);
            }
            else
            {
                throw std::runtime_error("unknown key '" + key + "'");
            }
        }
        catch (std::exception const& e)
        {
            throw std::runtime_error(path + ":" + std::to_string(line_no) + ": " + e.what());
        }
    }
    return out;
}

std::vector<golden_scenario> const& golden_traces()
{
    static std::vector<golden_scenario> const traces =
        load_golden(ASYNCHAT_TEST_DATA_DIR "/golden_traces.txt");
    return traces;
}

} // namespace asynchat::test
