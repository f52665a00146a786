package bench.flowable;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import org.flowable.common.engine.api.FlowableObjectNotFoundException;
import org.flowable.common.engine.api.FlowableOptimisticLockingException;
import org.flowable.engine.HistoryService;
import org.flowable.engine.IdentityService;
import org.flowable.engine.ProcessEngine;
import org.flowable.engine.RuntimeService;
import org.flowable.engine.TaskService;
import org.flowable.engine.runtime.ProcessInstance;
import org.flowable.idm.api.User;
import org.flowable.task.api.Task;
import org.flowable.task.api.TaskInfo;
import org.flowable.task.api.TaskQuery;
import org.flowable.variable.api.history.HistoricVariableInstance;

/**
 * The HTTP routes, with the JSON shapes of our API (api/routes/cases.ts, tasks.ts, inbox.ts) for what the
 * benchmark drives: start a case, read it, claim and complete a task, a user's inbox. The caller is named
 * by the X-User header (no authentication: our API checks a bearer token, cached per process). Errors are
 * problem details like ours.
 */
final class Api implements HttpHandler {
  private static final int PAGE = 50;

  private final ObjectMapper json = new ObjectMapper();
  private final RuntimeService runtime;
  private final TaskService tasks;
  private final HistoryService history;
  private final IdentityService identity;

  Api(ProcessEngine engine) {
    this.runtime = engine.getRuntimeService();
    this.tasks = engine.getTaskService();
    this.history = engine.getHistoryService();
    this.identity = engine.getIdentityService();
  }

  /** An answer other than 2xx, sent as problem details. */
  private static final class Problem extends RuntimeException {
    final int status;

    Problem(int status, String detail) {
      super(detail);
      this.status = status;
    }
  }

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    try {
      String method = exchange.getRequestMethod();
      String[] parts = exchange.getRequestURI().getPath().split("/");
      String user = exchange.getRequestHeaders().getFirst("X-User");
      if (parts.length == 2 && parts[1].equals("health")) {
        send(exchange, 200, Map.of("status", "ok"));
        return;
      }
      if (user == null || user.isEmpty()) throw new Problem(401, "X-User is required");
      if (method.equals("POST") && parts.length == 3 && parts[2].equals("cases")) {
        send(exchange, 201, start(user, read(exchange)));
      } else if (method.equals("GET") && parts.length == 4 && parts[2].equals("cases")) {
        send(exchange, 200, caseDetail(parts[3]));
      } else if (method.equals("POST") && parts.length == 5 && parts[2].equals("tasks")) {
        Map<String, Object> body = read(exchange);
        switch (parts[4]) {
          case "claim" -> send(exchange, 200, claim(user, parts[3]));
          case "complete" -> send(exchange, 200, complete(user, parts[3], body));
          default -> throw new Problem(404, "No such action");
        }
      } else if (method.equals("GET") && parts.length == 3 && parts[2].equals("inbox")) {
        send(exchange, 200, inbox(user));
      } else {
        throw new Problem(404, "No such route");
      }
    } catch (Problem p) {
      problem(exchange, p.status, p.getMessage());
    } catch (FlowableObjectNotFoundException e) {
      problem(exchange, 404, e.getMessage());
    } catch (FlowableOptimisticLockingException e) {
      problem(exchange, 409, e.getMessage());
    } catch (RuntimeException e) {
      problem(exchange, 500, String.valueOf(e));
    } finally {
      exchange.close();
    }
  }

  /** POST /api/cases {caseType, data}: starts the process; answers the case with its open tasks. */
  @SuppressWarnings("unchecked")
  private Map<String, Object> start(String user, Map<String, Object> body) {
    Object caseType = body.get("caseType");
    if (!"opportunity".equals(caseType)) throw new Problem(400, "Unknown case type " + caseType);
    Map<String, Object> data = (Map<String, Object>) body.getOrDefault("data", Map.of());
    User owner = identity.createUserQuery().userId(user).singleResult();
    if (owner == null) throw new Problem(401, "Unknown user " + user);
    Map<String, Object> vars = new HashMap<>(data);
    vars.put("ownerId", user);
    vars.put("ownerName", owner.getFirstName());
    vars.put("ownerEmail", owner.getEmail());
    String supervisor = identity.getUserInfo(user, "supervisorEmail");
    vars.put("supervisorEmail", supervisor == null ? "" : supervisor);
    ProcessInstance instance = runtime.startProcessInstanceByKey("opportunity", vars);
    Map<String, Object> view = new LinkedHashMap<>();
    view.put("id", instance.getId());
    view.put("caseType", "opportunity");
    view.put("status", runtime.getVariable(instance.getId(), "status"));
    view.put("tasks", openTasks(instance.getId()));
    return view;
  }

  /** GET /api/cases/:id: the case's status and its open tasks. */
  private Map<String, Object> caseDetail(String caseId) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put("id", caseId);
    Object status;
    if (runtime.createProcessInstanceQuery().processInstanceId(caseId).count() > 0) {
      status = runtime.getVariable(caseId, "status");
    } else {
      HistoricVariableInstance v =
          history
              .createHistoricVariableInstanceQuery()
              .processInstanceId(caseId)
              .variableName("status")
              .singleResult();
      if (v == null) throw new Problem(404, "Case " + caseId);
      status = v.getValue();
    }
    view.put("status", status);
    view.put("tasks", openTasks(caseId));
    return view;
  }

  private List<Map<String, Object>> openTasks(String caseId) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Task t : tasks.createTaskQuery().processInstanceId(caseId).orderByTaskCreateTime().asc().list()) {
      out.add(taskView(t, "open"));
    }
    return out;
  }

  /** A task the caller may act on: assigned to them or offered to one of their groups. */
  private Task visibleTask(String user, String taskId) {
    Task task = tasks.createTaskQuery().taskId(taskId).taskCandidateOrAssigned(user).singleResult();
    if (task == null) throw new Problem(404, "Task " + taskId);
    return task;
  }

  /** POST /api/tasks/:id/claim. */
  private Map<String, Object> claim(String user, String taskId) {
    Task task = visibleTask(user, taskId);
    if (task.getAssignee() != null) throw new Problem(409, "Task " + taskId + " is claimed");
    tasks.claim(taskId, user);
    task.setAssignee(user);
    return taskView(task, "open");
  }

  /** POST /api/tasks/:id/complete {outcome, data}: the assignee completes it with an outcome. */
  @SuppressWarnings("unchecked")
  private Map<String, Object> complete(String user, String taskId, Map<String, Object> body) {
    Task task = visibleTask(user, taskId);
    if (!user.equals(task.getAssignee())) throw new Problem(409, "Task " + taskId + " is not yours");
    Object outcome = body.get("outcome");
    if (!(outcome instanceof String)) throw new Problem(400, "outcome is required");
    Map<String, Object> vars = new HashMap<>((Map<String, Object>) body.getOrDefault("data", Map.of()));
    vars.put("outcome", outcome);
    tasks.complete(taskId, vars);
    return taskView(task, "completed");
  }

  /**
   * GET /api/inbox: the caller's open tasks, assigned to them or offered to one of their groups, by due
   * date (nulls last) then id, the first page of 50, with the total.
   */
  private Map<String, Object> inbox(String user) {
    TaskQuery query = tasks.createTaskQuery().taskCandidateOrAssigned(user);
    List<Task> page = query.orderByDueDateNullsLast().asc().orderByTaskId().asc().listPage(0, PAGE);
    long total = tasks.createTaskQuery().taskCandidateOrAssigned(user).count();
    List<Map<String, Object>> items = new ArrayList<>(page.size());
    for (Task t : page) items.add(taskView(t, "open"));
    Map<String, Object> view = new LinkedHashMap<>();
    view.put("items", items);
    view.put("nextCursor", total > PAGE ? String.valueOf(PAGE) : null);
    view.put("total", total);
    return view;
  }

  private static Map<String, Object> taskView(TaskInfo t, String status) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put("id", t.getId());
    view.put("caseId", t.getProcessInstanceId());
    view.put("step", t.getTaskDefinitionKey());
    view.put("title", t.getName());
    view.put("status", status);
    view.put("assignee", t.getAssignee());
    view.put("priority", t.getPriority());
    view.put("dueAt", iso(t.getDueDate()));
    view.put("createdAt", iso(t.getCreateTime()));
    return view;
  }

  private static String iso(Date date) {
    return date == null ? null : date.toInstant().toString();
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> read(HttpExchange exchange) throws IOException {
    try (InputStream in = exchange.getRequestBody()) {
      byte[] bytes = in.readAllBytes();
      if (bytes.length == 0) return Map.of();
      try {
        return json.readValue(bytes, Map.class);
      } catch (IOException e) {
        throw new Problem(400, "Body is not JSON");
      }
    }
  }

  private void send(HttpExchange exchange, int status, Object body) throws IOException {
    write(exchange, status, "application/json", json.writeValueAsBytes(body));
  }

  private void problem(HttpExchange exchange, int status, String detail) throws IOException {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("type", "about:blank");
    body.put("title", status == 404 ? "Not found" : status == 409 ? "Conflict" : "Error");
    body.put("status", status);
    body.put("detail", detail);
    write(exchange, status, "application/problem+json", json.writeValueAsBytes(body));
  }

  private static void write(HttpExchange exchange, int status, String type, byte[] bytes)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
