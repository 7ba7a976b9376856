%% dist_bench.erl - the workloads of bench_dist.c between two Erlang nodes.
%%
%% Node b:  erl -name b@127.0.0.1 -setcookie C +S 1 -noshell
%%              -pa DIR -s dist_bench serve
%%          registers sink, pong and bulk, and lives until killed.
%% Node a:  erl -name a@127.0.0.1 -setcookie C +S 1 -noshell
%%              -pa DIR -s dist_bench main WORKLOAD b@127.0.0.1 -s init stop
%%          connects to b, runs WORKLOAD from one process and prints
%%          "erlang.<workload> <value> <unit>":
%%   dist_send      1,000,000 small messages (integers) to {sink, b}; the
%%                  clock stops when the sink's count comes back -- msgs/s
%%   dist_pingpong  100,000 round trips with pong, one in flight -- round
%%                  trips/s
%%   dist_bulk      1,000 binaries of 1 MiB to bulk, at most 8 not yet
%%                  acknowledged -- MB/s (10^6 bytes)
%% Counts, order and sizes are checked; a wrong one halts with status 1.
-module(dist_bench).

-export([serve/0, main/1]).

-define(DATA_N, 1000000).
-define(PING_N, 100000).
-define(BULK_N, 1000).
-define(BULK_LEN, 1048576).
-define(BULK_WINDOW, 8).

%% ---- node b
serve() ->
    register(sink, spawn(fun() -> sink(0, 0) end)),
    register(pong, spawn(fun pong/0)),
    register(bulk, spawn(fun bulk/0)),
    ok.

sink(C, Bad) ->
    receive
        {done, From} ->
            From ! {count, C, Bad},
            sink(0, 0);
        I when I =:= C + 1 -> sink(C + 1, Bad);
        _ -> sink(C + 1, Bad + 1)
    end.

pong() ->
    receive {ping, From, I} -> From ! {pong, self(), I} end,
    pong().

bulk() ->
    receive
        {bulk, From, I, Bin} -> From ! {ack, self(), I, byte_size(Bin)}
    end,
    bulk().

%% ---- node a
main([W, Peer]) ->
    connect(Peer, 100),
    case W of
        dist_send ->
            out(W, round(?DATA_N / send_bench(Peer)), "msgs/s");
        dist_pingpong ->
            out(W, round(?PING_N / pingpong_bench(Peer)), "round_trips/s");
        dist_bulk ->
            out(W, float_to_list(?BULK_N * ?BULK_LEN / 1.0e6 / bulk_bench(Peer),
                                 [{decimals, 1}]), "MB/s");
        _ ->
            fail("unknown workload ~p", [W])
    end.

out(W, V, Unit) when is_integer(V) -> out(W, integer_to_list(V), Unit);
out(W, V, Unit) -> io:format("erlang.~s ~s ~s~n", [W, V, Unit]).

fail(Fmt, Args) ->
    io:format(standard_error, "dist_bench: " ++ Fmt ++ "~n", Args),
    erlang:halt(1).

%% Connected, and b's processes registered, before any clock starts.
connect(Peer, 0) -> fail("no connection to ~p", [Peer]);
connect(Peer, Tries) ->
    case net_kernel:connect_node(Peer) andalso
         is_pid(rpc:call(Peer, erlang, whereis, [bulk])) of
        true -> ok;
        false -> timer:sleep(100), connect(Peer, Tries - 1)
    end.

secs_since(T0) -> (erlang:monotonic_time(microsecond) - T0) / 1.0e6.

send_bench(Peer) ->
    T0 = erlang:monotonic_time(microsecond),
    send_loop({sink, Peer}, 1),
    {sink, Peer} ! {done, self()},
    receive
        {count, ?DATA_N, 0} -> secs_since(T0);
        {count, C, Bad} -> fail("sink counted ~p, ~p out of order", [C, Bad])
    after 120000 -> fail("no count from the sink", [])
    end.

send_loop(_Dest, I) when I > ?DATA_N -> ok;
send_loop(Dest, I) ->
    Dest ! I,
    send_loop(Dest, I + 1).

pingpong_bench(Peer) ->
    T0 = erlang:monotonic_time(microsecond),
    {pong, Peer} ! {ping, self(), 1},
    Pong = receive {pong, P, 1} -> P after 5000 -> fail("no pong", []) end,
    ping_loop(Pong, 2),
    secs_since(T0).

ping_loop(_Pong, I) when I > ?PING_N -> ok;
ping_loop(Pong, I) ->
    Pong ! {ping, self(), I},
    receive {pong, Pong, I} -> ok after 5000 -> fail("no pong ~p", [I]) end,
    ping_loop(Pong, I + 1).

bulk_bench(Peer) ->
    Bin = binary:copy(<<7>>, ?BULK_LEN),
    T0 = erlang:monotonic_time(microsecond),
    %% The first window goes by name, the rest to the pid the acks carry.
    Sent = lists:foldl(fun(I, _) -> {bulk, Peer} ! {bulk, self(), I, Bin}, I end,
                       0, lists:seq(1, min(?BULK_WINDOW, ?BULK_N))),
    bulk_loop(Bin, Sent, 0),
    secs_since(T0).

bulk_loop(_Bin, _Sent, ?BULK_N) -> ok;
bulk_loop(Bin, Sent, Done) ->
    Bulk = receive
        {ack, P, I, ?BULK_LEN} when I =:= Done + 1 -> P;
        Other -> fail("bad ack ~p after ~p", [Other, Done])
    after 120000 -> fail("no ack after ~p", [Done])
    end,
    Sent1 = case Sent < ?BULK_N of
                true -> Bulk ! {bulk, self(), Sent + 1, Bin}, Sent + 1;
                false -> Sent
            end,
    bulk_loop(Bin, Sent1, Done + 1).
