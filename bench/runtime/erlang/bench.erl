%% bench.erl - the seven workloads of bench_rt.c in idiomatic Erlang.
%%
%% erl +S 2 +P 4194304 -noshell -pa DIR -s bench main WORKLOAD -s init stop
%% prints one line, "erlang.<workload> <value> <unit>". Each workload checks
%% its result and halts with status 1 and a message on stderr if it is
%% wrong. +P is needed: skynet keeps up to 1.1M processes alive, more than
%% the default limit of 262144 (bench_rt's default is 4M actors).
-module(bench).
-behaviour(gen_server).

-export([main/1, idle/0]).
-export([init/1, handle_call/3, handle_cast/2]).

-define(SPAWN_N, 1000000).
-define(SPAWN_CHUNK, 1000).
-define(RING_N, 10000).
-define(RING_HOPS, 1000000).
-define(PINGPONG_N, 1000000).
-define(SKYNET_LEAVES, 1000000).
-define(SKYNET_DIV, 10).
-define(SKYNET_SUM, 499999500000).
-define(IDLE_N, 100000).
-define(CALL_N, 1000000).
-define(CALL_TIMEOUT, 5000).
-define(BACKLOG_N, 100000).
-define(BACKLOG_REPS, 5).
-define(WAIT, 120000).

main([W]) ->
    Name = atom_to_list(W),
    case lists:keyfind(Name, 1, workloads()) of
        {_, Unit, Fmt, Fun} ->
            io:format("erlang.~s ~s ~s~n", [Name, fmt(Fmt, Fun()), Unit]);
        false ->
            fail("unknown workload ~s", [Name])
    end.

workloads() ->
    [{"spawn", "actors/s", int, fun spawn_bench/0},
     {"ring", "hops/s", int, fun ring/0},
     {"pingpong", "roundtrips/s", int, fun pingpong/0},
     {"skynet", "ms", dec, fun skynet/0},
     {"idle_mem", "bytes", dec, fun idle_mem/0},
     {"call", "calls/s", int, fun call/0},
     {"exit_latency_backlog", "us", dec, fun exit_latency_backlog/0}].

%% Throughputs as integers, the rest with one decimal, as bench_rt prints.
fmt(int, V) -> integer_to_list(round(V));
fmt(dec, V) -> float_to_list(float(V), [{decimals, 1}]).

fail(Fmt, Args) ->
    io:format(standard_error, "bench: " ++ Fmt ++ "~n", Args),
    erlang:halt(1).

check(_What, Want, Want) -> ok;
check(What, Got, Want) -> fail("~s: got ~p, want ~p", [What, Got, Want]).

now_us() -> erlang:monotonic_time(microsecond).

per_second(N, T0) -> N * 1.0e6 / max(1, now_us() - T0).

wait(Tag) ->
    receive {Tag, V} -> V
    after ?WAIT -> fail("timed out waiting for ~p", [Tag])
    end.

%% spawn: spawn_monitor SPAWN_N processes that exit at once and count
%% their DOWNs. Like bench_rt's driver, spawn a batch, message self, and
%% handle the DOWNs that came in meanwhile, so they never pile up.
spawn_bench() ->
    T0 = now_us(),
    check("spawn: exits", spawn_loop(0, 0), ?SPAWN_N),
    per_second(?SPAWN_N, T0).

spawn_loop(?SPAWN_N, Downs) -> downs(?SPAWN_N - Downs, Downs);
spawn_loop(Spawned, Downs) ->
    N = min(?SPAWN_CHUNK, ?SPAWN_N - Spawned),
    spawn_n(N),
    self() ! more,
    spawn_loop(Spawned + N, drain(Downs)).

spawn_n(0) -> ok;
spawn_n(N) ->
    spawn_monitor(fun() -> ok end),
    spawn_n(N - 1).

drain(Downs) ->
    receive
        more -> Downs;
        {'DOWN', _, process, _, normal} -> drain(Downs + 1);
        {'DOWN', _, process, _, R} -> fail("spawn: child exit ~p", [R])
    end.

downs(0, Acc) -> Acc;
downs(N, Acc) ->
    receive
        {'DOWN', _, process, _, normal} -> downs(N - 1, Acc + 1);
        {'DOWN', _, process, _, R} -> fail("spawn: child exit ~p", [R])
    after ?WAIT -> fail("spawn: timed out", [])
    end.

%% ring: RING_N processes, the token makes RING_HOPS hops and must end on
%% node RING_HOPS rem RING_N. Building the ring is not timed.
ring() ->
    Main = self(),
    Node0 = spawn(fun() -> ring_build(Main) end),
    Node0 ! go,
    ready = wait(ready),
    T0 = now_us(),
    Node0 ! {token, 0},
    check("ring", wait(ring_done), ?RING_HOPS),
    per_second(?RING_HOPS, T0).

ring_build(Main) ->
    receive go -> ok end,
    Next = lists:foldl(fun(I, Next) ->
                               spawn(fun() -> ring_node(Next, I, Main) end)
                       end, self(), lists:seq(?RING_N - 1, 1, -1)),
    Main ! {ready, ready},
    ring_node(Next, 0, Main).

ring_node(Next, Idx, Main) ->
    receive
        {token, ?RING_HOPS} when Idx =:= ?RING_HOPS rem ?RING_N ->
            Main ! {ring_done, ?RING_HOPS};
        {token, ?RING_HOPS} ->
            Main ! {ring_done, {wrong_node, Idx}};
        {token, H} ->
            Next ! {token, H + 1},
            ring_node(Next, Idx, Main)
    end.

%% pingpong: PINGPONG_N round trips between two processes.
pingpong() ->
    Main = self(),
    T0 = now_us(),
    Pong = spawn(fun pong/0),
    spawn(fun() -> Main ! {pp_done, ping(Pong, 1)} end),
    check("pingpong", wait(pp_done), ?PINGPONG_N),
    per_second(?PINGPONG_N, T0).

pong() ->
    receive {ping, From, N} -> From ! {pong, N}, pong() end.

ping(Pong, N) when N > ?PINGPONG_N -> exit(Pong, kill), N - 1;
ping(Pong, N) ->
    Pong ! {ping, self(), N},
    receive {pong, N} -> ping(Pong, N + 1) end.

%% skynet: a 10-ary tree of processes over SKYNET_LEAVES leaves; each
%% leaf answers its number, each parent the sum of its children.
skynet() ->
    Limit = erlang:system_info(process_limit),
    Limit >= 1200000 orelse fail("skynet needs erl +P 4194304", []),
    Main = self(),
    T0 = now_us(),
    spawn(fun() -> skynet(Main, 0, ?SKYNET_LEAVES) end),
    check("skynet", wait(sum), ?SKYNET_SUM),
    (now_us() - T0) / 1000.

skynet(Parent, Num, 1) -> Parent ! {sum, Num};
skynet(Parent, Num, Size) ->
    Self = self(),
    Sub = Size div ?SKYNET_DIV,
    [spawn(fun() -> skynet(Self, Num + I * Sub, Sub) end)
     || I <- lists:seq(0, ?SKYNET_DIV - 1)],
    Parent ! {sum, collect(?SKYNET_DIV, 0)}.

collect(0, Sum) -> Sum;
collect(N, Sum) -> receive {sum, S} -> collect(N - 1, Sum + S) end.

%% idle_mem: growth of erlang:memory(total) per process for IDLE_N
%% processes waiting in receive. The pids are not kept (a list would be
%% charged to them); they are found again by initial call to kill them.
idle_mem() ->
    garbage_collect(),
    Before = erlang:memory(total),
    spawn_idle(?IDLE_N),
    After = erlang:memory(total),
    Idle = [P || P <- processes(), is_idle(P)],
    check("idle_mem: live processes", length(Idle), ?IDLE_N),
    [exit(P, kill) || P <- Idle],
    (After - Before) / ?IDLE_N.

spawn_idle(0) -> ok;
spawn_idle(N) -> spawn(?MODULE, idle, []), spawn_idle(N - 1).

idle() -> receive stop -> ok end.

is_idle(P) ->
    process_info(P, initial_call) =:= {initial_call, {?MODULE, idle, 0}}.

%% call: a client makes CALL_N gen_server:call/3s to one gen_server;
%% request N is answered with N + 1.
call() ->
    {ok, Server} = gen_server:start(?MODULE, [], []),
    Main = self(),
    T0 = now_us(),
    spawn(fun() -> Main ! {calls_done, calls(Server, 1)} end),
    check("call", wait(calls_done), ?CALL_N),
    gen_server:stop(Server),
    per_second(?CALL_N, T0).

calls(_Server, N) when N > ?CALL_N -> N - 1;
calls(Server, N) ->
    N1 = N + 1,
    N1 = gen_server:call(Server, N, ?CALL_TIMEOUT),
    calls(Server, N1).

init([]) -> {ok, nostate}.
handle_call(N, _From, State) -> {reply, N + 1, State}.
handle_cast(_Msg, State) -> {noreply, State}.

%% exit_latency_backlog: microseconds from an abnormal exit signal sent to
%% a process with BACKLOG_N messages queued, to the 'DOWN' at the process
%% that sent it and monitors it; the median of BACKLOG_REPS exits. As in
%% bench_rt, the victim's first message keeps it busy (spinning on an
%% atomic: runnable and preemptible, not blocked in receive) until the
%% watcher has sent the exit and released it, and Main queues the backlog
%% before it tells the watcher to fire.
%%
%% Victim and watcher are bound to different schedulers with spawn_opt's
%% {scheduler, N} (an ERTS option outside the documented list, present in
%% OTP 25), and after firing the watcher polls (receive ... after 0) until
%% the 'DOWN' comes, as in bench_rt: when the 'DOWN' had to wait for the
%% watcher's scheduler (the same one as the victim's, or a sleeping thread
%% that Linux woke on the victim's busy CPU), it waited behind the dead
%% victim's cleanup of the backlog, and the figure was bimodal (0.05 or
%% 2-7 ms).
exit_latency_backlog() ->
    erlang:system_info(schedulers_online) >= 2 orelse
        fail("exit_latency_backlog needs erl +S 2 or more", []),
    Samples = [backlog_once() || _ <- lists:seq(1, ?BACKLOG_REPS)],
    [io:format(standard_error, "bench: exit_latency_backlog ~b: ~.1f us~n",
               [I, S]) || {I, S} <- lists:zip(lists:seq(1, ?BACKLOG_REPS),
                                               Samples)],
    lists:nth((?BACKLOG_REPS + 1) div 2, lists:sort(Samples)).

backlog_once() ->
    Main = self(),
    Hold = atomics:new(1, []),
    Victim = spawn_opt(fun() -> victim(Hold, Main) end, [{scheduler, 1}]),
    Watcher = spawn_opt(fun() -> watcher(Victim, Hold, Main) end,
                        [{scheduler, 2}]),
    held = wait(held),
    send_work(Victim, ?BACKLOG_N),
    Watcher ! fire,
    wait(down).

send_work(_Victim, 0) -> ok;
send_work(Victim, N) -> Victim ! {work, N}, send_work(Victim, N - 1).

victim(Hold, Main) ->
    receive hold -> Main ! {held, held} end,
    spin(Hold),
    victim_loop(0).

spin(Hold) ->
    case atomics:get(Hold, 1) of
        0 -> spin(Hold);
        _ -> ok
    end.

victim_loop(N) -> receive {work, _} -> victim_loop(N + 1) end.

%% Monitor first, then hold: the monitor is in place before the backlog.
watcher(Victim, Hold, Main) ->
    Ref = monitor(process, Victim),
    Victim ! hold,
    receive fire -> ok end,
    T0 = erlang:monotonic_time(nanosecond),
    exit(Victim, backlog),
    atomics:put(Hold, 1, 1),
    poll_down(Ref, Victim, Main, T0).

poll_down(Ref, Victim, Main, T0) ->
    receive
        {'DOWN', Ref, process, Victim, backlog} ->
            T1 = erlang:monotonic_time(nanosecond),
            Main ! {down, (T1 - T0) / 1000};
        {'DOWN', Ref, process, Victim, R} ->
            fail("exit_latency_backlog: victim exit ~p", [R])
    after 0 ->
        poll_down(Ref, Victim, Main, T0)
    end.
