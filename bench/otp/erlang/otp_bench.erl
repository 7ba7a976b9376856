%% otp_bench.erl - the OTP workloads of bench_otp.c in idiomatic Erlang.
%%
%% erl +S 2 -noshell -pa DIR -s otp_bench main WORKLOAD -s init stop
%% prints one line, "erlang.<workload> <value> <unit>":
%%   gen_server_call  1,000,000 gen_server:call round trips from one
%%                    client process to one server -- calls/s
%%   restart_latency  microseconds from a worker's crash to its replacement
%%                    (restarted by a one_for_one supervisor) answering its
%%                    first call, median of 10,000 crashes -- us
-module(otp_bench).
-behaviour(gen_server). % also the supervisor's callback module (init/1)

-export([main/1, start_worker/1]).
-export([init/1, handle_call/3, handle_cast/2]).

-define(CALL_N, 1000000).
-define(RESTART_N, 10000).

main([W]) ->
    case W of
        gen_server_call ->
            out("gen_server_call", integer_to_list(round(call_bench())),
                "calls/s");
        restart_latency ->
            out("restart_latency",
                float_to_list(restart_bench(), [{decimals, 1}]), "us");
        _ ->
            io:format(standard_error, "otp_bench: unknown ~p~n", [W]),
            erlang:halt(1)
    end.

out(Name, V, Unit) -> io:format("erlang.~s ~s ~s~n", [Name, V, Unit]).

%% ---- gen_server callbacks: the call server and the restarted worker.
init({server}) -> {ok, 0};
init({worker, Driver}) ->
    Driver ! {started, self()},
    {ok, worker};
%% ---- supervisor callback
init({sup, Driver}) ->
    {ok, {#{strategy => one_for_one, intensity => 1000000, period => 1},
          [#{id => w, start => {?MODULE, start_worker, [Driver]},
             restart => permanent, shutdown => 5000, type => worker}]}}.

start_worker(Driver) -> gen_server:start_link(?MODULE, {worker, Driver}, []).

handle_call(crash, _From, worker) -> exit(crash);
handle_call(N, _From, S) -> {reply, N + 1, S}.

handle_cast(_, S) -> {noreply, S}.

%% ---- gen_server_call
call_bench() ->
    {ok, Srv} = gen_server:start(?MODULE, {server}, []),
    T0 = erlang:monotonic_time(microsecond),
    call_loop(Srv, 0),
    T = erlang:monotonic_time(microsecond) - T0,
    ?CALL_N * 1.0e6 / max(1, T).

call_loop(_Srv, ?CALL_N) -> ok;
call_loop(Srv, N) ->
    N1 = gen_server:call(Srv, N, 5000),
    N1 = N + 1,
    call_loop(Srv, N1).

%% ---- restart_latency
restart_bench() ->
    %% No crash reports: cleo's supervisor logs nothing in this benchmark
    %% either, and printing 10,000 reports would measure the console.
    ok = logger:set_primary_config(level, none),
    process_flag(trap_exit, true),
    Driver = self(),
    {ok, _Sup} = supervisor:start_link(?MODULE, {sup, Driver}),
    W0 = receive {started, P} -> P end,
    Lat = restart_loop(W0, ?RESTART_N, []),
    lists:nth(?RESTART_N div 2, lists:sort(Lat)) * 1.0.

restart_loop(_W, 0, Acc) -> Acc;
restart_loop(W, N, Acc) ->
    T0 = erlang:monotonic_time(microsecond),
    exit(W, crash),
    W1 = receive {started, P} -> P end,
    1 = gen_server:call(W1, 0),
    T = erlang:monotonic_time(microsecond) - T0,
    restart_loop(W1, N - 1, [T | Acc]).
