package bench.flowable;

import java.net.InetSocketAddress;
import java.util.concurrent.Executors;

import com.sun.net.httpserver.HttpServer;
import org.flowable.common.engine.impl.history.HistoryLevel;
import org.flowable.engine.ProcessEngine;
import org.flowable.engine.impl.cfg.StandaloneProcessEngineConfiguration;

/**
 * Flowable's process engine (Java API, no Spring) behind a thin HTTP wrapper written on the JDK's
 * com.sun.net.httpserver, for the peers benchmark. Configuration comes from the environment:
 * JDBC_URL, JDBC_USER, JDBC_PASSWORD, PORT, SMTP_HOST, SMTP_PORT, MAIL_FROM, HTTP_THREADS, DB_POOL.
 * Prints "ready" on stdout once the process definition is deployed and the server listens.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    StandaloneProcessEngineConfiguration config = new StandaloneProcessEngineConfiguration();
    config.setJdbcUrl(env("JDBC_URL", "jdbc:postgresql://127.0.0.1:5432/flowable"));
    config.setJdbcDriver("org.postgresql.Driver");
    config.setJdbcUsername(env("JDBC_USER", "postgres"));
    config.setJdbcPassword(env("JDBC_PASSWORD", "postgres"));
    config.setJdbcMaxActiveConnections(Integer.parseInt(env("DB_POOL", "20")));
    config.setJdbcMaxIdleConnections(Integer.parseInt(env("DB_POOL", "20")));
    config.setDatabaseSchemaUpdate("true");
    config.setAsyncExecutorActivate(true);
    config.setHistoryLevel(HistoryLevel.AUDIT);
    config.setMailServerHost(env("SMTP_HOST", "127.0.0.1"));
    config.setMailServerPort(Integer.parseInt(env("SMTP_PORT", "2525")));
    config.setMailServerDefaultFrom(env("MAIL_FROM", "crm@example.com"));
    ProcessEngine engine = config.buildProcessEngine();
    engine
        .getRepositoryService()
        .createDeployment()
        .name("opportunity")
        .addClasspathResource("opportunity.bpmn20.xml")
        .enableDuplicateFiltering()
        .deploy();

    int port = Integer.parseInt(env("PORT", "8089"));
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 1024);
    server.createContext("/", new Api(engine));
    server.setExecutor(Executors.newFixedThreadPool(Integer.parseInt(env("HTTP_THREADS", "32"))));
    server.start();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.stop(0);
                  engine.close();
                }));
    System.out.println("ready");
    System.out.flush();
  }

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isEmpty() ? fallback : value;
  }
}
