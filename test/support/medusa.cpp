// asynchat: test support: Medusa's producers' output, recorded by test/tools/medusa_reference.py
// SPDX-License-Identifier: BSL-1.0
#include "support/medusa.hpp"

#include <asynchat/producers.hpp>

#include "support/golden.hpp"
#include "support/loopback.hpp"
#include "support/send_only_chat.hpp"
#ifdef ASYNCHAT_HAS_ZLIB
#include <asynchat/compressed_producer.hpp>
#endif

#include <boost/asio/post.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace asynchat::test {

namespace {

// '-' is empty, <hh>x<n> is n bytes of value hh, else plain hex.
std::string unhex(std::string const& text)
{
    if (text == "-")
        return {};
    if (auto const x = text.find('x'); x != std::string::npos)
    {
        if (x != 2)
            throw std::runtime_error("bad run: " + text);
        return std::string(
            std::stoull(text.substr(3)),
            static_cast<char>(std::stoi(text.substr(0, 2), nullptr, 16))
        );
    }
    if (text.size() % 2 != 0)
        throw std::runtime_error("odd-length hex: " + text);
    std::string out;
    out.reserve(text.size() / 2);
    for (std::size_t i = 0; i < text.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(text.substr(i, 2), nullptr, 16)));
    return out;
}

std::vector<std::string> unhex_all(std::istringstream& words)
{
    std::vector<std::string> out;
    std::string word;
    while (words >> word)
        out.push_back(unhex(word));
    return out;
}

std::string zlib_version;

} // namespace

bool medusa_case::compressed() const
{
    for (auto const& l : chain)
        if (l.kind == "compressed")
            return true;
    return false;
}

std::string medusa_case::input() const
{
    std::string out;
    if (chain.back().kind == "lines")
    {
        for (auto const& line : *items)
            out += line + "\r\n";
    }
    else
    {
        for (auto const& piece : items ? *items : *inner)
            out += piece;
    }
    return out;
}

std::vector<medusa_case> load_medusa(std::string const& path)
{
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("cannot open " + path);
    std::vector<medusa_case> out;
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
            if (key == "zlib")
            {
                words >> zlib_version;
                continue;
            }
            if (key == "case")
            {
                out.emplace_back();
                words >> out.back().name;
                continue;
            }
            if (out.empty())
                throw std::runtime_error("data before the first case");
            medusa_case& c = out.back();
            std::string word;
            if (key == "producer")
            {
                medusa_case::layer l;
                words >> l.kind;
                bool const hex_args = l.kind == "chunked" || l.kind == "escaping";
                while (words >> word)
                    l.args.push_back(hex_args ? unhex(word) : word);
                c.chain.push_back(std::move(l));
            }
            else if (key == "items")
                c.items = unhex_all(words);
            else if (key == "inner")
                c.inner = unhex_all(words);
            else if (key == "more")
            {
                words >> word;
                c.more.push_back(unhex(word));
            }
            else if (key == "sent")
            {
                words >> word;
                c.sent = unhex(word);
            }
            else if (key == "called")
            {
                std::size_t call = 0, n = 0;
                words >> call >> n;
                c.called.emplace_back(call, n);
            }
            else if (key == "fixed")
            {
                words >> word;
                c.fixed = unhex(word);
                std::getline(words >> std::ws, c.because);
            }
            else if (key == "decompressed")
            {
                words >> word;
                c.decompressed = unhex(word);
            }
            else
                throw std::runtime_error("unknown key '" + key + "'");
        }
        catch (std::exception const& e)
        {
            throw std::runtime_error(path + ":" + std::to_string(line_no) + ": " + e.what());
        }
    }
    for (auto const& c : out)
        if (c.chain.empty() || c.more.empty() || !c.more.back().empty() || (!c.items && !c.inner))
            throw std::runtime_error(path + ": case " + c.name + " is incomplete");
    return out;
}

std::vector<medusa_case> const& medusa_cases()
{
    static std::vector<medusa_case> const cases =
        load_medusa(ASYNCHAT_TEST_DATA_DIR "/medusa_producers.txt");
    return cases;
}

std::string const& medusa_zlib_version()
{
    medusa_cases();
    return zlib_version;
}

std::string piece_producer::more()
{
    if (wait_ && !waited_)
    {
        waited_ = true;
        ++waits;
        if (on_wait)
            on_wait(resumer());
        return not_ready();
    }
    waited_ = false;
    return next_ == pieces_.size() ? std::string() : std::move(pieces_[next_++]);
}

std::unique_ptr<producer> build_medusa(
    medusa_case const& c,
    std::shared_ptr<hook_log> const& log,
    bool wait,
    std::function<void(std::function<void()>)> on_wait
)
{
    std::unique_ptr<producer> p;
    std::size_t wrappers = c.chain.size();
    if (c.chain.back().kind == "lines")
    {
        p = std::make_unique<lines_producer>(*c.items);
        --wrappers;
    }
    else if (c.chain.back().kind == "buffer_list")
    {
        p = std::make_unique<buffer_list_producer>(*c.items);
        --wrappers;
    }
    else
    {
        auto inner = std::make_unique<piece_producer>(*c.inner, wait);
        inner->on_wait = std::move(on_wait);
        p = std::move(inner);
    }
    while (wrappers != 0)
    {
        medusa_case::layer const& l = c.chain[--wrappers];
        if (l.kind == "globbing")
            p = std::make_unique<globbing_producer>(std::move(p), std::stoull(l.args.at(0)));
        else if (l.kind == "hooked")
            p = std::make_unique<hooked_producer>(
                std::move(p),
                [log](std::size_t n)
                {
                    log->calls.emplace_back(log->call, n);
                    if (log->sent)
                        log->sent_at_call.push_back(log->sent());
                }
            );
        else if (l.kind == "chunked")
            p = std::make_unique<chunked_producer>(std::move(p), l.args);
        else if (l.kind == "escaping")
            p = std::make_unique<escaping_producer>(std::move(p), l.args.at(0), l.args.at(1));
#ifdef ASYNCHAT_HAS_ZLIB
        else if (l.kind == "compressed")
            p = std::make_unique<compressed_producer>(std::move(p), std::stoi(l.args.at(0)));
#endif
        else
            throw std::runtime_error(c.name + ": cannot build a " + l.kind + " producer here");
    }
    return p;
}

std::vector<std::string> hex(std::vector<std::string> const& pieces)
{
    std::vector<std::string> out;
    for (auto const& p : pieces)
        out.push_back(hex(std::string_view(p)));
    return out;
}

std::string joined(std::vector<std::string> const& pieces)
{
    std::string out;
    for (auto const& p : pieces)
        out += p;
    return out;
}

std::vector<std::string> drain(producer& p, hook_log* log)
{
    std::vector<std::string> out;
    for (std::size_t call = 1; call <= 100000; ++call)
    {
        if (log)
            log->call = call;
        out.push_back(puller::next(p));
        if (p.waiting())
            throw std::runtime_error("drain: not_ready() from a producer that never waits");
        if (out.back().empty())
            return out;
    }
    throw std::runtime_error("drain: more() never returned an empty string");
}

std::pair<std::string, std::size_t> drain_waiting(producer& p)
{
    std::string out;
    std::size_t waits = 0;
    for (std::size_t call = 0; call < 100000; ++call)
    {
        std::string piece = puller::next(p);
        if (!piece.empty())
            out += piece;
        else if (p.waiting())
            ++waits;
        else
            return {out, waits};
    }
    throw std::runtime_error("drain_waiting: more() never returned an empty string");
}

std::pair<std::string, std::vector<std::string>> dechunk(std::string const& body)
{
    std::string data;
    std::size_t pos = 0;
    auto line = [&]
    {
        std::size_t const end = body.find("\r\n", pos);
        if (end == std::string::npos)
            throw std::runtime_error("chunked: a line without CRLF");
        std::string l = body.substr(pos, end - pos);
        pos = end + 2;
        return l;
    };
    for (;;)
    {
        std::size_t const size = std::stoul(line(), nullptr, 16);
        if (size == 0)
            break;
        if (body.compare(pos + size, 2, "\r\n") != 0)
            throw std::runtime_error("chunked: no CRLF after the data");
        data += body.substr(pos, size);
        pos += size + 2;
    }
    std::vector<std::string> trailer;
    for (std::string l; !(l = line()).empty();)
        trailer.push_back(l);
    if (pos != body.size())
        throw std::runtime_error("chunked: bytes after the message");
    return {data, trailer};
}

std::string const medusa_before = "<before>\r\n";
std::string const medusa_after = "<after>\r\n";

tcp_run run_over_tcp(medusa_case const& c, bool wait)
{
    tcp_run run;
    asio::io_context io;
    auto [client, server] = loopback_tcp::pair(io);
    auto chat = std::make_shared<send_only_chat>(std::move(server));
    run.log->sent = [c = chat.get()] { return c->bytes_sent(); };
    chat->push(medusa_before);
    chat->push_with_producer(build_medusa(
        c, run.log, wait, [&io](std::function<void()> resume) { asio::post(io, resume); }
    ));
    chat->push(medusa_after);
    chat->close_when_done();
    chat->start();
    std::thread reader([&, &client = client] { run.received = read_to_eof(client); });
    run.closed = run_until(io, [&] { return !chat->connected(); });
    reader.join();
    client.close();
    run.drained = run_to_completion(io);
    run.log->sent = nullptr;
    return run;
}

} // namespace asynchat::test
