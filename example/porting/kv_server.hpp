// asynchat: example: the C++ port of kv_server.py, line for line (see README.md beside it)
// SPDX-License-Identifier: BSL-1.0
#ifndef ASYNCHAT_EXAMPLE_KV_SERVER_HPP
#define ASYNCHAT_EXAMPLE_KV_SERVER_HPP

#include <asynchat.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace kv {

namespace asio = boost::asio;
using asio::ip::tcp;
using store_type = std::map<std::string, std::string>;

// Python's bytes.split(): words separated by runs of whitespace.
inline std::vector<std::string> split(std::string const& data)
{
    std::istringstream in(data);
    std::vector<std::string> words;
    for (std::string w; in >> w;)
        words.push_back(w);
    return words;
}

inline bool isdigit(std::string const& s)
{
    return !s.empty() && s.size() < 10 && s.find_first_not_of("0123456789") == std::string::npos;
}

class kv_channel : public asynchat::async_chat // class kv_channel(asynchat.async_chat):
{
public:
    kv_channel(tcp::socket sock, store_type& store) // def __init__(self, sock, store):
        : asynchat::async_chat(std::move(sock)), store_(store)
    {
        set_terminator("\r\n");   // self.set_terminator(b"\r\n")
        push("+OK kv ready\r\n"); // self.push(b"+OK kv ready\r\n"): a greeting, in the constructor
    }

    // def log_info(self, message, type="info"): every line the library logs goes through here,
    // the default handle_error()'s among them.
    void log_info(std::string_view message, std::string_view type = "info") override
    {
        std::cerr << "kv " << type << ": " << message << '\n';
    }

protected:
    void collect_incoming_data(std::string_view data) override { _collect_incoming_data(data); }

    void found_terminator() override
    {
        std::string data = _get_data();
        if (pending_key_) // the value of a SET: n bytes, not a line
        {
            store_[*pending_key_] = data;
            pending_key_.reset();
            set_terminator("\r\n");
            push("STORED\r\n");
            return;
        }
        auto const words = split(data);
        if (words.size() == 3 && words[0] == "SET" && isdigit(words[2]))
        {
            pending_key_ = words[1];
            set_terminator(std::stoul(words[2])); // self.set_terminator(int(words[2]))
            if (std::stoul(words[2]) == 0)        // 0 would collect forever: store now
                found_terminator();
        }
        else if (words.size() == 2 && words[0] == "GET")
        {
            auto const value = store_.find(words[1]); // self.store.get(words[1])
            if (value == store_.end())
            {
                push("NOT_FOUND\r\n");
            }
            else
            {
                push("VALUE " + std::to_string(value->second.size()) + "\r\n");
                push(value->second);
            }
        }
        else if (words == std::vector<std::string>{"QUIT"})
        {
            push("BYE\r\n");
            close_when_done();
        }
        else
        {
            push("ERROR\r\n");
        }
    }

private:
    store_type& store_;
    std::optional<std::string> pending_key_; // self.pending_key = None
};

class kv_server : public asynchat::dispatcher // class kv_server(asyncore.dispatcher):
{
public:
    kv_server(asio::io_context& io, unsigned short port) : dispatcher(io.get_executor())
    {
        create_socket(); // self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        set_reuse_addr();
        bind({asio::ip::make_address("127.0.0.1"), port});
        listen(5);
        std::cout << "listening on 127.0.0.1:" << local_endpoint().port() << std::endl;
    }

protected:
    void handle_accepted(socket_type sock, endpoint_type) override
    {
        // kv_channel(sock, self.store): the channel must also be started.
        std::make_shared<kv_channel>(std::move(sock), store_)->start();
    }

private:
    store_type store_; // self.store = {}
};

} // namespace kv

#endif
